import { describe, expect, it } from "@effect/vitest"
import { Config, ConfigProvider, Duration, Effect, Layer, Option, Redacted, Ref, Result } from "effect"
import * as HttpClient from "effect/http/HttpClient"
import type { TmdbConfigOptions } from "../src/index.js"
import { AuthService, TmdbConfig } from "../src/index.js"

const fromEnv = (env: Record<string, string>) =>
  TmdbConfig.pipe(
    Effect.provide(TmdbConfig.layerConfig.pipe(Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown(env)))))
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
      const result = yield* Effect.result(fromEnv({}))
      expect(Result.isFailure(result)).toBe(true)
      if (Result.isFailure(result)) {
        expect(result.failure).toBeInstanceOf(Config.ConfigError)
        expect(String(result.failure)).toContain("TMDB_ACCESS_TOKEN")
        expect(String(result.failure)).toContain("TMDB_API_KEY")
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

/** Builds AuthService on `config` over an HttpClient that dies if any request is sent. */
const buildWith = (config: Layer.Layer<TmdbConfig, Config.ConfigError>) =>
  Effect.gen(function*() {
    const sent = yield* Ref.make(0)
    const client = HttpClient.make((request) =>
      Effect.andThen(Ref.update(sent, (n) => n + 1), Effect.die(new Error(`unexpected request ${request.url}`)))
    )
    const built = yield* Effect.result(
      Layer.build(
        AuthService.layer.pipe(Layer.provide(config), Layer.provide(Layer.succeed(HttpClient.HttpClient, client)))
      )
        .pipe(Effect.scoped)
    )
    expect(yield* Ref.get(sent)).toBe(0)
    return built
  })

const mistakes: ReadonlyArray<readonly [string, TmdbConfigOptions, string, ReadonlyArray<string>]> = [
  ["a baseUrl that is not http(s)", { accessToken: "t", baseUrl: "ftp://x" }, "baseUrl", ["http(s) URL", "ftp://x"]],
  ["a baseUrl that is not a URL", { accessToken: "t", baseUrl: "not-a-url" }, "baseUrl", ["http(s) URL"]],
  ["a baseUrl ending in /3", { accessToken: "t", baseUrl: "https://api.themoviedb.org/3" }, "baseUrl", [
    "without the version path",
    "use \"https://api.themoviedb.org\""
  ]],
  ["a baseUrl ending in /4/", { accessToken: "t", baseUrl: "https://proxy.test/tmdb/4/" }, "baseUrl", [
    "use \"https://proxy.test/tmdb\""
  ]],
  ["a webBaseUrl that is not http(s)", { accessToken: "t", webBaseUrl: "javascript:alert(1)" }, "webBaseUrl", [
    "http(s) URL"
  ]],
  ["an empty access token", { accessToken: "" }, "accessToken", ["is empty"]],
  ["an access token with a newline", { accessToken: Redacted.make("eyJ-token\n") }, "accessToken", [
    "whitespace or a control character"
  ]],
  ["an API key with a space", { apiKey: "abc def" }, "apiKey", ["whitespace or a control character"]],
  ["an API key with a control character", { apiKey: "abc\u0007" }, "apiKey", ["control character"]],
  ["a zero timeout", { accessToken: "t", timeout: 0 }, "timeout", ["positive"]],
  ["a negative timeout", { accessToken: "t", timeout: "-5 seconds" as Duration.Input }, "timeout", [
    "positive"
  ]],
  ["a negative retry count", { accessToken: "t", retry: { maxRetries: -1 } }, "retry", ["maxRetries"]],
  ["a fractional restart count", { accessToken: "t", retry: { maxRestarts: 1.5 } }, "retry", ["maxRestarts"]],
  ["retry: false (from JavaScript)", { accessToken: "t", retry: false as unknown as { maxRetries: 0 } }, "retry", [
    "retry must be an object such as { maxRetries: 0 }"
  ]],
  ["a negative retry.maxWait", { accessToken: "t", retry: { maxWait: -1 } }, "retry", ["retry.maxWait"]],
  ["a zero retry.maxRetryAfter", { accessToken: "t", retry: { maxRetryAfter: "0 seconds" } }, "retry", [
    "retry.maxRetryAfter must be a positive"
  ]],
  ["a bad API key beside a good access token", { accessToken: "t", apiKey: "abc\n" }, "apiKey", ["whitespace"]],
  ["admission.maxInFlight of 0", { accessToken: "t", admission: { maxInFlight: 0 } }, "admission", ["maxInFlight"]],
  ["a zero lateAnswerGrace", { accessToken: "t", lateAnswerGrace: 0 }, "lateAnswerGrace", ["positive, finite"]],
  [
    "an infinite lateAnswerGrace",
    {
      accessToken: "t",
      lateAnswerGrace: "Infinity" as Duration.Input
    },
    "lateAnswerGrace",
    ["positive, finite"]
  ],
  ["a maxResponseBytes of 0.5", { accessToken: "t", maxResponseBytes: 0.5 }, "maxResponseBytes", ["whole number"]],
  [
    "requestSpans that is not a boolean (from JavaScript)",
    {
      accessToken: "t",
      requestSpans: "yes" as unknown as boolean
    },
    "requestSpans",
    ["requestSpans must be true or false", "\"yes\""]
  ]
]

describe("configuration is checked when the layer is built", () => {
  for (const [what, options, setting, phrases] of mistakes) {
    it.effect(`TmdbConfig.layer refuses ${what} with a ConfigError at ${setting}, before any request`, () =>
      Effect.gen(function*() {
        const result = yield* buildWith(TmdbConfig.layer(options))
        expect(Result.isFailure(result)).toBe(true)
        const error = Result.getFailure(result).pipe(Option.getOrThrow)
        expect(error).toBeInstanceOf(Config.ConfigError)
        // Effect 4's ConfigError reads `<message>\n  at ["setting"]` (Effect 3's read "Invalid data at setting: ...").
        expect(String(error)).toContain(`at ["${setting}"]`)
        for (const phrase of phrases) expect(String(error)).toContain(phrase)
        // A secret that was refused is not repeated in the message.
        if (setting === "accessToken" || setting === "apiKey") {
          expect(String(error)).not.toContain("eyJ-token")
          expect(String(error)).not.toContain("abc")
        }
      }))
  }

  it.effect("TmdbConfig.make is an Effect that fails the same way", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(TmdbConfig.make({ apiKey: "k", baseUrl: "https://api.themoviedb.org/3" }))
      expect(String(error)).toContain(`at ["baseUrl"]`)
      const config = yield* TmdbConfig.make({ apiKey: "k", baseUrl: "http://127.0.0.1:9/prefix/" })
      expect(config.baseUrl).toBe("http://127.0.0.1:9/prefix")
    }))

  const fromEnvironment: ReadonlyArray<readonly [Record<string, string>, string]> = [
    [{ TMDB_API_KEY: "k", TMDB_BASE_URL: "not-a-url" }, "TMDB_BASE_URL"],
    [{ TMDB_API_KEY: "k", TMDB_BASE_URL: "https://api.themoviedb.org/3" }, "TMDB_BASE_URL"],
    [{ TMDB_API_KEY: "k", TMDB_WEB_URL: "ftp://x" }, "TMDB_WEB_URL"],
    [{ TMDB_ACCESS_TOKEN: "eyJ\ntoken" }, "TMDB_ACCESS_TOKEN"],
    [{ TMDB_API_KEY: "k k" }, "TMDB_API_KEY"],
    [{ TMDB_API_KEY: "k", TMDB_TIMEOUT: "0 seconds" }, "TMDB_TIMEOUT"]
  ]
  for (const [env, variable] of fromEnvironment) {
    it.effect(`TmdbConfig.layerConfig names ${variable} for a mistaken value (${JSON.stringify(env)})`, () =>
      Effect.gen(function*() {
        const result = yield* buildWith(
          TmdbConfig.layerConfig.pipe(Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown(env))))
        )
        const error = Result.getFailure(result).pipe(Option.getOrThrow)
        expect(String(error)).toContain(`at ["${variable}"]`)
        expect(String(error)).not.toContain("eyJ")
      }))
  }
})

describe("TmdbConfig.layerConfig with Config values", () => {
  const withEnv = (env: Record<string, string>) => ConfigProvider.layer(ConfigProvider.fromUnknown(env))

  it.effect("reads each setting given as a Config, the others from the TMDB_* variables", () =>
    Effect.gen(function*() {
      const config = yield* TmdbConfig.pipe(Effect.provide(
        TmdbConfig.layerConfig({ accessToken: Config.Redacted("MY_TMDB_TOKEN"), timeout: Config.succeed("3 seconds") })
          .pipe(Layer.provide(withEnv({ MY_TMDB_TOKEN: "eyJ-mine", TMDB_BASE_URL: "http://127.0.0.1:8080" })))
      ))
      expect(config.credential._tag).toBe("AccessToken")
      if (config.credential._tag === "AccessToken") expect(Redacted.value(config.credential.token)).toBe("eyJ-mine")
      expect(Duration.toSeconds(config.timeout)).toBe(3)
      expect(config.baseUrl).toBe("http://127.0.0.1:8080")
    }))

  it.effect("a credential Config without data counts as not given: the API key from TMDB_API_KEY is used", () =>
    Effect.gen(function*() {
      const config = yield* TmdbConfig.pipe(Effect.provide(
        TmdbConfig.layerConfig({ accessToken: Config.Redacted("MY_TMDB_TOKEN") }).pipe(
          Layer.provide(withEnv({ TMDB_API_KEY: "key" }))
        )
      ))
      expect(config.credential._tag).toBe("ApiKey")
    }))

  it.effect("TmdbConfig.layerConfig() and TmdbConfig.layerConfig (as a layer, as in 0.1) read the same", () =>
    Effect.gen(function*() {
      const env = withEnv({ TMDB_API_KEY: "key", TMDB_TIMEOUT: "4 seconds" })
      const called = yield* TmdbConfig.pipe(Effect.provide(TmdbConfig.layerConfig().pipe(Layer.provide(env))))
      const asLayer = yield* TmdbConfig.pipe(Effect.provide(TmdbConfig.layerConfig), Effect.provide(env))
      expect(Duration.toSeconds(called.timeout)).toBe(4)
      expect(Duration.toSeconds(asLayer.timeout)).toBe(4)
      expect(asLayer.credential._tag).toBe("ApiKey")
    }))
})
