import { describe, expect, it } from "@effect/vitest"
import { ConfigError, ConfigProvider, Duration, Effect, Either, Layer, Redacted } from "effect"
import { TmdbConfig } from "../src/index.js"

const fromEnv = (env: Record<string, string>) =>
  TmdbConfig.pipe(
    Effect.provide(TmdbConfig.layerConfig.pipe(Layer.provide(Layer.setConfigProvider(ConfigProvider.fromJson(env)))))
  )

describe("TmdbConfig.layerConfig", () => {
  it.effect("prefers TMDB_ACCESS_TOKEN over TMDB_API_KEY and keeps it Redacted", () =>
    Effect.gen(function*() {
      const config = yield* fromEnv({ TMDB_ACCESS_TOKEN: "eyJ-token", TMDB_API_KEY: "key" })
      expect(config.credential._tag).toBe("AccessToken")
      if (config.credential._tag === "AccessToken") {
        expect(Redacted.isRedacted(config.credential.token)).toBe(true)
        expect(Redacted.value(config.credential.token)).toBe("eyJ-token")
      }
      expect(config.baseUrl).toBe("https://api.themoviedb.org")
      expect(Duration.toSeconds(config.timeout)).toBe(10)
    }))

  it.effect("uses TMDB_API_KEY when no access token is set, and reads TMDB_BASE_URL and TMDB_TIMEOUT", () =>
    Effect.gen(function*() {
      const config = yield* fromEnv({
        TMDB_API_KEY: "key",
        TMDB_BASE_URL: "http://127.0.0.1:8080/",
        TMDB_TIMEOUT: "3 seconds"
      })
      expect(config.credential._tag).toBe("ApiKey")
      expect(config.baseUrl).toBe("http://127.0.0.1:8080")
      expect(Duration.toSeconds(config.timeout)).toBe(3)
    }))

  it.effect("treats an empty variable as unset", () =>
    Effect.gen(function*() {
      const config = yield* fromEnv({ TMDB_ACCESS_TOKEN: "", TMDB_API_KEY: "key" })
      expect(config.credential._tag).toBe("ApiKey")
    }))

  it.effect("fails with a ConfigError naming both variables when neither is set", () =>
    Effect.gen(function*() {
      const result = yield* Effect.either(fromEnv({}))
      expect(Either.isLeft(result)).toBe(true)
      if (Either.isLeft(result)) {
        expect(ConfigError.isConfigError(result.left)).toBe(true)
        expect(String(result.left)).toContain("TMDB_ACCESS_TOKEN")
        expect(String(result.left)).toContain("TMDB_API_KEY")
      }
    }))
})

describe("TmdbConfig.layer", () => {
  it.effect("accepts plain strings and Redacted values, and the access token wins over the API key", () =>
    Effect.gen(function*() {
      const config = yield* TmdbConfig.pipe(
        Effect.provide(TmdbConfig.layer({ accessToken: Redacted.make("t"), apiKey: "k", timeout: "2 seconds" }))
      )
      expect(config.credential._tag).toBe("AccessToken")
      expect(Duration.toSeconds(config.timeout)).toBe(2)
      expect(JSON.stringify(config.credential)).not.toContain("\"t\"")
    }))
})
