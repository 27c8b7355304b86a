/**
 * The one table that turns a TMDB answer into a typed error. Endpoints never interpret errors themselves: they
 * name the endpoint-specific errors they can produce, and any code outside that list becomes a `TmdbError`.
 */
import type * as Duration from "effect/Duration"
import type { CredentialKind, EndpointErrorOf, EndpointErrorTag, InvalidCredentialsReason } from "../TmdbError.js"
import {
  InvalidApiKey,
  InvalidCredentials,
  InvalidToken,
  RateLimited,
  SessionDenied,
  SessionNotFound,
  TmdbError,
  TmdbUnavailable,
  TokenExpired
} from "../TmdbError.js"

/** Errors only some endpoints can produce. */
export type SpecificTag = EndpointErrorTag

export type ErrorOf<T extends SpecificTag> = EndpointErrorOf<T>

/** What TMDB said, in the terms of the error table. */
export interface Answer {
  readonly endpoint: string
  readonly httpStatus: number
  readonly statusCode: number | undefined
  readonly statusMessage: string | undefined
  readonly retryAfter: Duration.Duration | undefined
  /** The kind of application credential the request carried. */
  readonly credential: CredentialKind
  /** Whether the request carried a user's session id (`session_id` or `guest_session_id`). */
  readonly withSession: boolean
}

type Rule =
  | { readonly tag: "InvalidApiKey" | "TmdbUnavailable" | "RateLimited" }
  | { readonly tag: "InvalidCredentials"; readonly reason: InvalidCredentialsReason }
  | { readonly tag: Exclude<SpecificTag, "InvalidCredentials"> }

/**
 * TMDB `status_code` -> error (../shared/TMDB-AUTH.md, "Errors"). Code 3 ("authentication failed") on a request that
 * carries a session id means TMDB does not know the session: `SessionNotFound` there (see `sessionRules`).
 */
export const table: ReadonlyMap<number, Rule> = new Map<number, Rule>([
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
const sessionRules: ReadonlyMap<number, Rule> = new Map<number, Rule>([[3, { tag: "SessionNotFound" }]])

const fields = (answer: Answer) => ({
  endpoint: answer.endpoint,
  httpStatus: answer.httpStatus,
  ...(answer.statusCode === undefined ? {} : { statusCode: answer.statusCode }),
  ...(answer.statusMessage === undefined ? {} : { statusMessage: answer.statusMessage })
})

const withRetryAfter = (answer: Answer) => ({
  ...fields(answer),
  ...(answer.retryAfter === undefined ? {} : { retryAfter: answer.retryAfter })
})

/** Error for a TMDB answer that is not a success; `allowed` lists the endpoint-specific errors it may produce. */
export const fromAnswer = <T extends SpecificTag>(
  answer: Answer,
  allowed: ReadonlyArray<T>
): InvalidApiKey | RateLimited | TmdbUnavailable | TmdbError | ErrorOf<T> => {
  const sessionRule = answer.withSession && answer.statusCode !== undefined
    ? sessionRules.get(answer.statusCode)
    : undefined
  const rule: Rule | undefined = answer.httpStatus === 429
    ? { tag: "RateLimited" }
    : answer.statusCode === undefined
    ? undefined
    : sessionRule ?? table.get(answer.statusCode)
  // A session's own rule always applies to a request that carries the session; the table's, where the endpoint
  // names the error (a 404 for a movie is not a missing session).
  const tag = rule === undefined
    ? undefined
    : rule === sessionRule || rule.tag === "InvalidApiKey" || rule.tag === "TmdbUnavailable" ||
        rule.tag === "RateLimited" || (allowed as ReadonlyArray<string>).includes(rule.tag)
    ? rule.tag
    : undefined
  switch (tag) {
    case "RateLimited":
      return new RateLimited(withRetryAfter(answer))
    case "InvalidApiKey":
      return new InvalidApiKey({ ...fields(answer), credential: answer.credential })
    case "TmdbUnavailable":
      return new TmdbUnavailable(withRetryAfter(answer))
    case "InvalidCredentials":
      return new InvalidCredentials({
        ...fields(answer),
        reason: (rule as { readonly reason: InvalidCredentialsReason }).reason
      }) as ErrorOf<T>
    case "TokenExpired":
      return new TokenExpired(fields(answer)) as ErrorOf<T>
    case "SessionDenied":
      return new SessionDenied(fields(answer)) as ErrorOf<T>
    case "SessionNotFound":
      return new SessionNotFound(fields(answer)) as ErrorOf<T>
    case "InvalidToken":
      return new InvalidToken(fields(answer)) as ErrorOf<T>
    case undefined:
      return answer.httpStatus >= 500 ? new TmdbUnavailable(withRetryAfter(answer)) : new TmdbError(fields(answer))
  }
}
