import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import { defaults, Engine } from "../../src/internal/fakeTmdb.js"

const tokenNew = {
  method: "GET",
  url: new URL("http://fake/3/authentication/token/new"),
  headers: { authorization: `Bearer ${defaults.accessToken}` },
  body: ""
}

describe("Engine", () => {
  it.effect("forgets expired request tokens, so a long-running fake stays bounded", () =>
    Effect.gen(function*() {
      const engine = new Engine({})
      const size = () => (engine as unknown as { readonly requestTokens: Map<string, unknown> }).requestTokens.size
      for (let i = 0; i < 2000; i++) yield* engine.handle(tokenNew)
      expect(size()).toBeGreaterThan(1000)
      yield* TestClock.adjust("61 minutes")
      for (let i = 0; i < 2000; i++) yield* engine.handle(tokenNew)
      expect(size()).toBeLessThan(2100)
    }))
})
