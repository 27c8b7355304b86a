import * as Effect from "effect/Effect"

/** Logs, and does not raise, a failure to release a session or token: the program's own outcome stands. */
export const releaseQuietly =
  (what: string) => <E extends { readonly _tag: string; readonly message: string }>(effect: Effect.Effect<void, E>) =>
    Effect.catchAll(effect, (error) =>
      Effect.logWarning(
        error._tag === "SessionNotFound" || error._tag === "InvalidToken"
          ? `The ${what} was already gone on TMDB's side: ${error.message}`
          : `Could not delete the ${what}: ${error.message}`
      ).pipe(Effect.annotateLogs({ error: error._tag })))
