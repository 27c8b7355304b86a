/**
 * TMDB v4 user authentication: request tokens and user access tokens.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { isExpiredNow } from "./internal/expiry.js"

/**
 * A v4 request token. TMDB's answer carries no expiry: `expiresAt` is 15 minutes (TMDB's documented lifetime)
 * after the `Clock` time the request was sent, so it errs on the early side. The token is `Redacted`.
 *
 * @since 0.1.0
 */
export class RequestTokenV4 extends Schema.TaggedClass<RequestTokenV4>()("RequestTokenV4", {
  token: Schema.RedactedFromValue(Schema.String),
  expiresAt: Schema.DateTimeUtc
}) {
  /** Whether the token is expired at the current `Clock` time. */
  get isExpired(): Effect.Effect<boolean> {
    return isExpiredNow(this.expiresAt)
  }
}

/**
 * A v4 user access token (`Redacted`) and the account it belongs to. It works until deleted with
 * `deleteAccessToken`, and converts to a v3 session with `createSessionFromV4`.
 *
 * @since 0.1.0
 */
export class AccessToken extends Schema.Class<AccessToken>("AccessToken")({
  accessToken: Schema.RedactedFromValue(Schema.String),
  accountId: Schema.String
}) {}
