import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"

/** Whether `expiresAt` is not after the current `Clock` time: a token is expired at `expiresAt` exactly. */
export const isExpiredNow = (expiresAt: DateTime.Utc): Effect.Effect<boolean> =>
  Effect.map(DateTime.now, (now) => !DateTime.isGreaterThan(expiresAt, now))
