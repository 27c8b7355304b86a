import { DateTime, Effect } from "effect"

/** Whether `expiresAt` is not after the current `Clock` time: a token is expired at `expiresAt` exactly. */
export const isExpiredNow = (expiresAt: DateTime.Utc): Effect.Effect<boolean> =>
  Effect.map(DateTime.now, (now) => !DateTime.greaterThan(expiresAt, now))
