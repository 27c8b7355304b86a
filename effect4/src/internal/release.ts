import * as Effect from "effect/Effect"

import { isRetryableWhenRepeatable } from "../RetryPolicy.js"

/** Logs, and does not raise, a failure to release a session or token: the program's own outcome stands. */
export const releaseQuietly =
  (what: string) => <E extends { readonly _tag: string; readonly message: string }>(effect: Effect.Effect<void, E>) =>
    Effect.catch(effect, (error) =>
      Effect.logWarning(
        error._tag === "SessionNotFound" || error._tag === "InvalidToken"
          ? `The ${what} was already gone on TMDB's side: ${error.message}`
          : `Could not delete the ${what}: ${error.message}`
      ).pipe(Effect.annotateLogs({ error: error._tag })))

/**
 * `releaseQuietly` for a release that runs in the client's background (`TmdbClient.background`): a transient failure
 * (the network, a 5xx, a 429) is raised, so that the background tries again within `lateAnswerGrace`; any other is
 * logged and ends it.
 */
export const releaseQuietlyUnlessTransient =
  (what: string) => <E extends { readonly _tag: string; readonly message: string }>(effect: Effect.Effect<void, E>) =>
    Effect.catchIf(
      effect,
      (error) => !isRetryableWhenRepeatable(true, error),
      (error) => releaseQuietly(what)(Effect.fail(error))
    )
