/**
 * The typed failures of every TMDB authentication call.
 *
 * Each class is a `Schema.TaggedError` whose `_tag` equals its name, so callers handle them with
 * `Effect.catchTag("InvalidCredentials", ...)` or `Effect.catchTags({ ... })`. None of them ever holds a secret:
 * they carry the endpoint (method and path, never the query string), TMDB's `status_code`, the HTTP status and
 * TMDB's `status_message`.
 *
 * @since 0.1.0
 */
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"

/** Where and how TMDB answered: shared by every error that comes from a TMDB answer. */
const Answer = {
  /** `METHOD /path` of the request, without its query string (which may hold the API key). */
  endpoint: Schema.String,
  /** The HTTP status of TMDB's answer. */
  httpStatus: Schema.Number,
  /** TMDB's `status_code`, when the body carried one. */
  statusCode: Schema.optional(Schema.Number),
  /** TMDB's `status_message`, when the body carried one. */
  statusMessage: Schema.optional(Schema.String)
}

const describe = (self: {
  readonly endpoint: string
  readonly httpStatus: number
  readonly statusCode?: number | undefined
  readonly statusMessage?: string | undefined
}): string => {
  const code = self.statusCode === undefined ? "" : `code ${self.statusCode}, `
  const text = self.statusMessage === undefined ? "" : `: ${self.statusMessage}`
  return `(${code}HTTP ${self.httpStatus} from ${self.endpoint})${text}`
}

/**
 * Why TMDB refused a username and password.
 *
 * - `WrongLogin`: code 30, invalid username and/or password.
 * - `Missing`: code 26, username and password are required.
 * - `AccountDisabled`: code 31.
 * - `EmailNotVerified`: code 32.
 *
 * @since 0.1.0
 */
export const InvalidCredentialsReason = Schema.Literals([
  "WrongLogin",
  "Missing",
  "AccountDisabled",
  "EmailNotVerified"
])

/** @since 0.1.0 */
export type InvalidCredentialsReason = typeof InvalidCredentialsReason.Type

const credentialsAdvice: Record<InvalidCredentialsReason, string> = {
  WrongLogin: "the username or password is wrong",
  Missing: "a username and a password are both required",
  AccountDisabled: "the TMDB account is disabled",
  EmailNotVerified: "the TMDB account's email address is not verified yet"
}

/**
 * TMDB refused the user's login (codes 30, 26, 31, 32); `reason` says which.
 *
 * @example
 * ```ts
 * program.pipe(Effect.catchTag("InvalidCredentials", (e) => Console.log(e.reason)))
 * ```
 * @since 0.1.0
 */
export class InvalidCredentials extends Schema.TaggedError<InvalidCredentials>()("InvalidCredentials", {
  reason: InvalidCredentialsReason,
  ...Answer
}) {
  override get message(): string {
    return `TMDB refused the login: ${credentialsAdvice[this.reason]} ${describe(this)}`
  }
}

/**
 * The request token is expired, already used, or unknown: TMDB code 33, or a `RequestToken` whose `expiresAt`
 * is not after the current `Clock` time (then no request was sent and the answer fields are absent).
 *
 * @since 0.1.0
 */
export class TokenExpired extends Schema.TaggedError<TokenExpired>()("TokenExpired", {
  endpoint: Schema.String,
  httpStatus: Schema.optional(Schema.Number),
  statusCode: Schema.optional(Schema.Number),
  statusMessage: Schema.optional(Schema.String),
  /** When the token expired, if known (set by the local check). */
  expiresAt: Schema.optional(Schema.DateTimeUtc)
}) {
  override get message(): string {
    return this.httpStatus === undefined
      ? `The request token expired at ${
        this.expiresAt === undefined ? "an earlier time" : DateTime.formatIso(this.expiresAt)
      }; ` +
        `create a new one (no request was sent to ${this.endpoint})`
      : `TMDB says the request token is expired, already used or invalid; create a new one ${
        describe({ ...this, httpStatus: this.httpStatus })
      }`
  }
}

/**
 * TMDB's rate limit (HTTP 429 or code 25) held after the retry policy gave up. `retryAfter` is the wait the
 * server asked for in its last answer, when it sent a `Retry-After` header.
 *
 * @since 0.1.0
 */
export class RateLimited extends Schema.TaggedError<RateLimited>()("RateLimited", {
  ...Answer,
  retryAfter: Schema.optional(Schema.Duration)
}) {
  override get message(): string {
    const wait = this.retryAfter === undefined ? "" : `; it asked to wait ${Duration.format(this.retryAfter)}`
    return `TMDB is rate limiting this client${wait} ${describe(this)}`
  }
}

/**
 * Which application credential a request carried: the API Read Access Token (`Authorization: Bearer`) or the v3
 * API key (`api_key`).
 *
 * @since 0.2.0
 */
export const CredentialKind = Schema.Literals(["AccessToken", "ApiKey"])

/** @since 0.2.0 */
export type CredentialKind = typeof CredentialKind.Type

/**
 * The application credential (API key or read access token) was refused: codes 7 (invalid), 10 (suspended),
 * 3 (no permission). `credential` says which kind was sent.
 *
 * @since 0.1.0
 */
export class InvalidApiKey extends Schema.TaggedError<InvalidApiKey>()("InvalidApiKey", {
  ...Answer,
  /** The kind of credential the refused request carried (absent only for errors built by hand). */
  credential: Schema.optional(CredentialKind)
}) {
  override get message(): string {
    const what = this.statusCode === 10
      ? "is suspended"
      : this.statusCode === 3
      ? "has no permission for this service"
      : "is invalid"
    const sent = this.credential === "AccessToken"
      ? "the API Read Access Token (sent as Authorization: Bearer)"
      : this.credential === "ApiKey"
      ? "the v3 API key (sent as the api_key query parameter)"
      : "the API key or read access token"
    return `TMDB says ${sent} ${what} ${describe(this)}`
  }
}

/**
 * The request token was never approved by the user (codes 17, 41), so no session can be made from it.
 *
 * @since 0.1.0
 */
export class SessionDenied extends Schema.TaggedError<SessionDenied>()("SessionDenied", Answer) {
  override get message(): string {
    return `TMDB denied the session: the request token was not approved by the user ${describe(this)}`
  }
}

/**
 * TMDB does not know the session (code 37; 6 and 34 from the session endpoints).
 *
 * @since 0.1.0
 */
export class SessionNotFound extends Schema.TaggedError<SessionNotFound>()("SessionNotFound", Answer) {
  override get message(): string {
    return `TMDB has no such session ${describe(this)}`
  }
}

/**
 * A v4 access token was refused (code 35).
 *
 * @since 0.1.0
 */
export class InvalidToken extends Schema.TaggedError<InvalidToken>()("InvalidToken", Answer) {
  override get message(): string {
    return `TMDB refused the access token ${describe(this)}`
  }
}

/**
 * TMDB is down or overloaded (HTTP 5xx; codes 9, 11, 15, 24, 43, 46), after the retries the policy allows.
 *
 * @since 0.1.0
 */
export class TmdbUnavailable extends Schema.TaggedError<TmdbUnavailable>()("TmdbUnavailable", {
  ...Answer,
  retryAfter: Schema.optional(Schema.Duration)
}) {
  override get message(): string {
    return `TMDB is unavailable, try again later ${describe(this)}`
  }
}

/**
 * Any other TMDB answer: a code this library does not single out, or a non-JSON error page (then only the HTTP
 * status is known).
 *
 * @since 0.1.0
 */
export class TmdbError extends Schema.TaggedError<TmdbError>()("TmdbError", Answer) {
  override get message(): string {
    return `TMDB answered with an error ${describe(this)}`
  }
}

/**
 * Why a request got no answer.
 *
 * - `Timeout`: no complete answer within the configured timeout.
 * - `Transport`: the connection failed (refused, reset, DNS...).
 * - `InvalidUrl`: the configured base URL does not make a valid URL.
 * - `InvalidBody`: the request's JSON body could not be encoded (a `BigInt`, a cycle); nothing was sent.
 *
 * @since 0.1.0
 */
export const TransportErrorReason = Schema.Literals(["Timeout", "Transport", "InvalidUrl", "InvalidBody"])

/** @since 0.1.0 */
export type TransportErrorReason = typeof TransportErrorReason.Type

/**
 * The network failed or timed out: no usable answer arrived. `description` is the platform's explanation with any
 * URL removed (URLs can hold the API key).
 *
 * @since 0.1.0
 */
export class TransportError extends Schema.TaggedError<TransportError>()("TransportError", {
  reason: TransportErrorReason,
  endpoint: Schema.String,
  description: Schema.optional(Schema.String)
}) {
  override get message(): string {
    const detail = this.description === undefined ? "" : `: ${this.description}`
    return this.reason === "Timeout"
      ? `No answer from TMDB in time for ${this.endpoint}${detail}`
      : `Could not reach TMDB for ${this.endpoint} (${this.reason})${detail}`
  }
}

/**
 * TMDB's answer did not have the expected shape. `issues` names the fields that failed, never their values.
 *
 * @since 0.1.0
 */
export class MalformedResponse extends Schema.TaggedError<MalformedResponse>()("MalformedResponse", {
  endpoint: Schema.String,
  httpStatus: Schema.Number,
  issues: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `TMDB's answer to ${this.endpoint} (HTTP ${this.httpStatus}) could not be decoded: ${this.issues.join("; ")}`
  }
}

/**
 * A v4 endpoint was called with only a v3 API key configured: v4 needs the API Read Access Token. No request was
 * sent.
 *
 * @since 0.1.0
 */
export class AccessTokenRequired extends Schema.TaggedError<AccessTokenRequired>()("AccessTokenRequired", {
  endpoint: Schema.String
}) {
  override get message(): string {
    return `${this.endpoint} is a TMDB v4 endpoint: it needs the API Read Access Token (accessToken / TMDB_ACCESS_TOKEN), but only an API key is configured (no request was sent)`
  }
}

/**
 * The failures every request can end with, whatever the endpoint.
 *
 * @since 0.1.0
 */
export type RequestError =
  | InvalidApiKey
  | RateLimited
  | TmdbUnavailable
  | TmdbError
  | TransportError
  | MalformedResponse

/**
 * The errors only some requests can produce; a request names those it may produce (`TmdbClient.request`'s
 * `errors`), and any other TMDB code becomes a `TmdbError`.
 *
 * @since 0.2.0
 */
export type EndpointError = InvalidCredentials | TokenExpired | SessionDenied | SessionNotFound | InvalidToken

/**
 * The tags of {@link EndpointError}.
 *
 * @since 0.2.0
 */
export type EndpointErrorTag = EndpointError["_tag"]

/**
 * The error class of an {@link EndpointErrorTag}.
 *
 * @since 0.2.0
 */
export type EndpointErrorOf<T extends EndpointErrorTag> = Extract<EndpointError, { readonly _tag: T }>

/**
 * Every failure this library produces.
 *
 * @since 0.1.0
 */
export type AuthError =
  | RequestError
  | InvalidCredentials
  | TokenExpired
  | SessionDenied
  | SessionNotFound
  | InvalidToken
  | AccessTokenRequired

/**
 * The failures a retry policy is asked about: the ones that may pass if tried again (a `MalformedResponse` only for a
 * request that is safe to repeat, since 0.4.0).
 *
 * @since 0.1.0
 */
export type RetryableError = RateLimited | TmdbUnavailable | TransportError | MalformedResponse

const tags: ReadonlySet<string> = new Set([
  "InvalidCredentials",
  "TokenExpired",
  "RateLimited",
  "InvalidApiKey",
  "SessionDenied",
  "SessionNotFound",
  "InvalidToken",
  "TmdbUnavailable",
  "TmdbError",
  "TransportError",
  "MalformedResponse",
  "AccessTokenRequired"
])

/**
 * Whether a value is one of this library's errors.
 *
 * @since 0.1.0
 */
export const isAuthError = (u: unknown): u is AuthError =>
  Predicate.hasProperty(u, "_tag") && typeof u._tag === "string" && tags.has(u._tag) && u instanceof Error
