/**
 * The one table that turns a TMDB answer into a typed error (the table itself, as data: core/errorTable.ts).
 * Endpoints never interpret errors themselves: they name the endpoint-specific errors they can produce, and any code
 * outside that list becomes a `TmdbError`.
 */
import type * as Duration from "effect/Duration"
import { classify } from "../../core/errorTable.js"
import type { CredentialKind, EndpointErrorOf, EndpointErrorTag } from "../TmdbError.js"
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
  const rule = classify(answer, allowed)
  switch (rule.tag) {
    case "RateLimited":
      return new RateLimited(withRetryAfter(answer))
    case "InvalidApiKey":
      return new InvalidApiKey({ ...fields(answer), credential: answer.credential })
    case "TmdbUnavailable":
      return new TmdbUnavailable(withRetryAfter(answer))
    case "InvalidCredentials":
      return new InvalidCredentials({ ...fields(answer), reason: rule.reason }) as ErrorOf<T>
    case "TokenExpired":
      return new TokenExpired(fields(answer)) as ErrorOf<T>
    case "SessionDenied":
      return new SessionDenied(fields(answer)) as ErrorOf<T>
    case "SessionNotFound":
      return new SessionNotFound(fields(answer)) as ErrorOf<T>
    case "InvalidToken":
      return new InvalidToken(fields(answer)) as ErrorOf<T>
    case "TmdbError":
      return new TmdbError(fields(answer))
  }
}
