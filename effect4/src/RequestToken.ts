/**
 * A TMDB v3 request token: the first step of a user login.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { isExpiredNow } from "./internal/expiry.js"

/**
 * A request token and the moment it stops being usable. The token is `Redacted`: printing, logging or
 * serialising a `RequestToken` never shows it.
 *
 * @example
 * ```ts
 * const token = yield* auth.createRequestToken
 * const approved = yield* auth.validateWithLogin({ username, password, requestToken: token })
 * ```
 * @since 0.1.0
 */
export class RequestToken extends Schema.TaggedClass<RequestToken>()("RequestToken", {
  token: Schema.RedactedFromValue(Schema.String),
  expiresAt: Schema.DateTimeUtc
}) {
  /** Whether the token is expired at the current `Clock` time (expired at `expiresAt` exactly). */
  get isExpired(): Effect.Effect<boolean> {
    return isExpiredNow(this.expiresAt)
  }
}
