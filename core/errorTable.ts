/**
 * TMDB's error table (../shared/TMDB-AUTH.md, "Errors") as data: which typed error an answer that is not a success
 * becomes, and which failures may be tried again. Each line builds its error classes from the tags given here.
 */

/** Why TMDB refused a username and password. */
export type InvalidCredentialsReason = "Missing" | "WrongLogin" | "AccountDisabled" | "EmailNotVerified"

/** Errors any request can produce. */
export type GeneralTag = "InvalidApiKey" | "TmdbUnavailable" | "RateLimited"

/** Errors only the endpoints that name them produce (elsewhere the same code is a plain `TmdbError`). */
export type EndpointTag = "InvalidCredentials" | "TokenExpired" | "SessionDenied" | "SessionNotFound" | "InvalidToken"

export type Rule =
  | { readonly tag: GeneralTag }
  | { readonly tag: "InvalidCredentials"; readonly reason: InvalidCredentialsReason }
  | { readonly tag: Exclude<EndpointTag, "InvalidCredentials"> }

/**
 * TMDB `status_code` -> error. Code 3 ("authentication failed") on a request that carries a session id means TMDB does
 * not know the session: `SessionNotFound` there (see `sessionRules`).
 */
export const statusCodeRules: ReadonlyMap<number, Rule> = new Map<number, Rule>([
  [3, { tag: "InvalidApiKey" }],
  [7, { tag: "InvalidApiKey" }],
  [10, { tag: "InvalidApiKey" }],
  [6, { tag: "SessionNotFound" }],
  [34, { tag: "SessionNotFound" }],
  [37, { tag: "SessionNotFound" }],
  [9, { tag: "TmdbUnavailable" }],
  [11, { tag: "TmdbUnavailable" }],
  [15, { tag: "TmdbUnavailable" }],
  [24, { tag: "TmdbUnavailable" }],
  [43, { tag: "TmdbUnavailable" }],
  [46, { tag: "TmdbUnavailable" }],
  [17, { tag: "SessionDenied" }],
  [41, { tag: "SessionDenied" }],
  [25, { tag: "RateLimited" }],
  [26, { tag: "InvalidCredentials", reason: "Missing" }],
  [30, { tag: "InvalidCredentials", reason: "WrongLogin" }],
  [31, { tag: "InvalidCredentials", reason: "AccountDisabled" }],
  [32, { tag: "InvalidCredentials", reason: "EmailNotVerified" }],
  [33, { tag: "TokenExpired" }],
  [35, { tag: "InvalidToken" }]
])

/** Where a request with a session id reads a code differently. */
export const sessionRules: ReadonlyMap<number, Rule> = new Map<number, Rule>([[3, { tag: "SessionNotFound" }]])

/** What the table needs to know of an answer. */
export interface AnswerFacts {
  readonly httpStatus: number
  readonly statusCode: number | undefined
  /** Whether the request carried a user's session id (`session_id` or `guest_session_id`). */
  readonly withSession: boolean
}

/**
 * The error an answer that is not a success becomes, `allowed` listing the endpoint-specific errors the endpoint
 * names: a rule of the table, or, where none applies, `TmdbUnavailable` for a 5xx and `TmdbError` for anything else.
 */
export const classify = (
  answer: AnswerFacts,
  allowed: ReadonlyArray<string>
): Rule | { readonly tag: "TmdbError" } => {
  const sessionRule = answer.withSession && answer.statusCode !== undefined
    ? sessionRules.get(answer.statusCode)
    : undefined
  const rule: Rule | undefined = answer.httpStatus === 429
    ? { tag: "RateLimited" }
    : answer.statusCode === undefined
    ? undefined
    : sessionRule ?? statusCodeRules.get(answer.statusCode)
  // A session's own rule always applies to a request that carries the session; the table's, where the endpoint
  // names the error (a 404 for a movie is not a missing session).
  const applies = rule !== undefined && (
    rule === sessionRule || rule.tag === "InvalidApiKey" || rule.tag === "TmdbUnavailable" ||
    rule.tag === "RateLimited" || allowed.includes(rule.tag)
  )
  if (applies) return rule
  return answer.httpStatus >= 500 ? { tag: "TmdbUnavailable" } : { tag: "TmdbError" }
}

/** What retryability needs to know of a failure (the fields of the typed errors that carry them). */
export interface FailureFacts {
  readonly _tag: string
  readonly httpStatus?: number | undefined
  readonly statusCode?: number | undefined
  readonly reason?: string | undefined
}

/**
 * Whether a failure of a request that is, or is not, safe to repeat may be tried again. Rate limiting (429, code 25)
 * and maintenance (503 with code 9 or 46) mean TMDB did not process the request, so any request may be repeated.
 * Other server errors, timeouts, broken connections and garbled answers may hide a request TMDB did process: only
 * repeatable ones are tried again then.
 */
export const retryableWhenRepeatable = (repeatable: boolean, error: FailureFacts): boolean => {
  switch (error._tag) {
    case "RateLimited":
      return true
    case "TmdbUnavailable":
      return repeatable || (error.httpStatus === 503 && (error.statusCode === 9 || error.statusCode === 46))
    case "TransportError":
      // A bad base URL or an unencodable body fails the same way every time: never retried.
      return repeatable && (error.reason === "Transport" || error.reason === "Timeout")
    case "MalformedResponse":
      // A garbled or undecodable success: asking again is safe only where repeating is.
      return repeatable && error.httpStatus !== undefined && error.httpStatus >= 200 && error.httpStatus < 300
    default:
      return false
  }
}
