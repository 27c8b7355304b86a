/**
 * TMDB v3 sessions: a user session and a guest session.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * A user session. It does not expire: it lives until deleted. The id is `Redacted`.
 *
 * @example
 * ```ts
 * const session = yield* auth.login({ username, password })
 * yield* auth.deleteSession(session)
 * ```
 * @since 0.1.0
 */
export class Session extends Schema.Class<Session>("Session")({
  sessionId: Schema.RedactedFromValue(Schema.String)
}) {}

/**
 * A guest session: read-mostly access without an account, deleted by TMDB if unused for 24 hours
 * (`expiresAt`). The id is `Redacted`.
 *
 * @since 0.1.0
 */
export class GuestSession extends Schema.Class<GuestSession>("GuestSession")({
  guestSessionId: Schema.RedactedFromValue(Schema.String),
  expiresAt: Schema.DateTimeUtc
}) {}
