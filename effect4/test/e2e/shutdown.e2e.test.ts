/**
 * Closing the layers over real sockets (FakeTmdb.serve, real time): a scope's release never waits on a silent server
 * beyond the request timeout + 1 s, and closing TmdbClient.layer gives pending cleanups one timeout, then warns.
 */
import { Effect, Layer, Logger } from "effect"
import { describe, expect, it } from "vitest"
import { AuthService, TmdbConfig, TmdbHttpClient } from "../../src/index.js"
import { FakeTmdb, Fault } from "../../src/testing/index.js"

describe("shutting down with TMDB silent", () => {
  it(
    "a scopedSession's scope closes within timeout + 1 s; closing the layer waits one timeout, then warns",
    async () => {
      const lines: Array<string> = []
      const logger = Logger.layer([Logger.make(({ message }) => void lines.push(String(message)))])
      await Effect.runPromise(Effect.scoped(
        Effect.gen(function*() {
          const fake = yield* FakeTmdb.serve()
          // Silent for longer than this test: every attempt of the delete times out.
          yield* fake.fail(
            "DELETE /3/authentication/session",
            ...Array.from({ length: 5 }, () => Fault.Delay({ duration: "60 seconds" }))
          )
          const layer = AuthService.layer.pipe(
            Layer.provide(TmdbHttpClient.layer),
            Layer.provide(TmdbConfig.layer({
              accessToken: FakeTmdb.defaults.accessToken,
              baseUrl: fake.url,
              timeout: "1 second"
            }))
          )
          let closedScopeAfter = 0
          const started = Date.now()
          yield* Effect.scoped(
            Effect.gen(function*() {
              const scopeStarted = Date.now()
              yield* Effect.scoped(AuthService.scopedSession({ username: "demo", password: "demo-password" }))
              closedScopeAfter = Date.now() - scopeStarted
            }).pipe(Effect.provide(layer))
          )
          const closedLayerAfter = Date.now() - started - closedScopeAfter
          expect(closedScopeAfter).toBeGreaterThanOrEqual(1_900)
          // 0.5.0 waited for every retry of the delete (5 silent attempts: over 5 s); a busy machine adds well under 2 s.
          expect(closedScopeAfter).toBeLessThan(4_500)
          expect(closedLayerAfter).toBeLessThan(4_000)
          expect(lines).toContainEqual(expect.stringContaining("closed with 1 cleanup(s) unfinished"))
          expect(yield* fake.sessions).toHaveLength(1)
        }).pipe(Effect.provide(logger))
      ))
    },
    30_000
  )
})
