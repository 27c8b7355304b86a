/**
 * The connection options every TMDB command shares, and the layer they make.
 */
import { type Command, Flag } from "effect/cli"
import type * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as References from "effect/References"
import { AuthService } from "../AuthService.js"
import { TmdbConfig, type TmdbConfigOptions } from "../TmdbConfig.js"
import * as TmdbHttpClient from "../TmdbHttpClient.js"
import { UsageError } from "./Exit.js"

/** A boolean flag that is false unless given, with no `--no-` form (as @effect/cli's `Options.boolean`). */
export const switchFlag = (name: string, description: string): Flag.Flag<boolean> =>
  Flag.Boolean(name).pipe(Flag.withDescription(description), Flag.withDefault(false), Flag.withoutNegation)

export const connectionOptions = {
  baseUrl: Flag.String("base-url").pipe(
    Flag.withDescription("TMDB API origin (default https://api.themoviedb.org, or TMDB_BASE_URL)"),
    Flag.optional
  ),
  webUrl: Flag.String("web-url").pipe(
    Flag.withDescription(
      "origin of the approval pages (default https://www.themoviedb.org; the --base-url itself when it is a loopback address)"
    ),
    Flag.optional
  ),
  accessToken: Flag.Redacted("access-token").pipe(
    Flag.withDescription("API Read Access Token (default TMDB_ACCESS_TOKEN)"),
    Flag.optional
  ),
  apiKey: Flag.Redacted("api-key").pipe(
    Flag.withDescription("v3 API key (default TMDB_API_KEY)"),
    Flag.optional
  ),
  retries: Flag.Int("retries").pipe(
    Flag.withDescription("retries after a failed attempt, at most (default 5; 0 fails at the first failure)"),
    Flag.optional
  ),
  noRetry: switchFlag("no-retry", "fail fast: the same as --retries 0")
}

export type ConnectionFlags = Command.Command.Config.Infer<typeof connectionOptions>

const isLoopback = (url: string) => {
  try {
    return ["127.0.0.1", "localhost", "[::1]"].includes(new URL(url).hostname)
  } catch {
    return false
  }
}

/** Flags override the environment; the credential variables are read only when no credential flag is given. */
export const resolveConfig = (
  flags: ConnectionFlags
): Effect.Effect<TmdbConfigOptions, Config.ConfigError | UsageError> =>
  Effect.gen(function*() {
    const fromEnv: TmdbConfigOptions = Option.isSome(flags.accessToken)
      ? { ...(yield* TmdbConfig.settingsConfig), accessToken: flags.accessToken.value }
      : Option.isSome(flags.apiKey)
      ? { ...(yield* TmdbConfig.settingsConfig), apiKey: flags.apiKey.value }
      : yield* TmdbConfig.config
    const baseUrl = Option.getOrUndefined(flags.baseUrl) ?? fromEnv.baseUrl
    const webUrl = Option.getOrUndefined(flags.webUrl) ??
      (baseUrl !== undefined && isLoopback(baseUrl) ? baseUrl : fromEnv.webBaseUrl)
    if (flags.noRetry && Option.isSome(flags.retries)) {
      return yield* Effect.fail(new UsageError({ message: "give --retries N or --no-retry, not both" }))
    }
    if (Option.isSome(flags.retries) && flags.retries.value < 0) {
      return yield* Effect.fail(
        new UsageError({ message: "--retries must be 0 or more (0 fails at the first failure)" })
      )
    }
    const maxRetries = flags.noRetry ? 0 : Option.getOrUndefined(flags.retries)
    return {
      ...fromEnv,
      ...(baseUrl === undefined ? {} : { baseUrl }),
      ...(webUrl === undefined ? {} : { webBaseUrl: webUrl }),
      ...(maxRetries === undefined ? {} : { retry: { maxRetries } })
    }
  })

/** Retry decisions (debug logs) shown on stderr, so waits longer than a second say what they wait for. */
export const progressLogger = Logger.layer([
  Logger.make(({ fiber, message }) => {
    if (!("retryInMillis" in fiber.getRef(References.CurrentLogAnnotations))) return
    const text = Array.isArray(message) ? message.join(" ") : String(message)
    process.stderr.write(`  ↻ ${text}\n`)
  })
]).pipe(Layer.merge(Layer.succeed(References.MinimumLogLevel, "Debug")))

/** AuthService for these flags, over TmdbHttpClient (undici), as layerLive. */
export const authLayer = (flags: ConnectionFlags): Layer.Layer<AuthService, Config.ConfigError | UsageError> =>
  Layer.unwrap(Effect.map(resolveConfig(flags), authLayerFor))

/** AuthService for explicit options, over TmdbHttpClient (undici), as layerLive. */
export const authLayerFor = (options: TmdbConfigOptions): Layer.Layer<AuthService, Config.ConfigError> =>
  AuthService.layer.pipe(Layer.provide(TmdbHttpClient.layer), Layer.provide(TmdbConfig.layer(options)))

/** Builds the service into the current scope. */
export const buildAuth = (options: TmdbConfigOptions) =>
  Effect.map(Layer.build(authLayerFor(options)), Context.get(AuthService))
