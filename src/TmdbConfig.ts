/**
 * The application's TMDB credential and the client's settings.
 *
 * @since 0.1.0
 */
import { Config, ConfigError, Context, Data, Duration, Effect, Either, Layer, Option, Redacted } from "effect"
import { toRedacted } from "./internal/secret.js"
import type { RetryOptions, RetrySchedule } from "./RetryPolicy.js"
import { retrySchedule } from "./RetryPolicy.js"

/**
 * The application credential every request carries: an API Read Access Token (sent as `Authorization: Bearer`)
 * or a v3 API key (sent as the `api_key` query parameter). Both stay `Redacted`.
 *
 * @since 0.1.0
 */
export type Credential = Data.TaggedEnum<{
  AccessToken: { readonly token: Redacted.Redacted<string> }
  ApiKey: { readonly key: Redacted.Redacted<string> }
}>

/**
 * Constructors for {@link Credential}.
 *
 * @since 0.1.0
 */
export const Credential = Data.taggedEnum<Credential>()

/**
 * A secret as a user may hand it over: plain or already `Redacted`. It is wrapped in `Redacted` at once.
 *
 * @since 0.1.0
 */
export type Secret = string | Redacted.Redacted<string>

/**
 * Settings of the client, all optional but the credential.
 *
 * @since 0.1.0
 */
export interface TmdbConfigSettings {
  /** API origin. Default `https://api.themoviedb.org`. */
  readonly baseUrl?: string | undefined
  /** Origin of TMDB's website, where users approve request tokens. Default `https://www.themoviedb.org`. */
  readonly webBaseUrl?: string | undefined
  /** Time allowed for one attempt of one request (connect, answer and body). Default 10 seconds. */
  readonly timeout?: Duration.DurationInput | undefined
  /** The retry policy: tuning for the default, or your own `Schedule`. */
  readonly retry?: RetryOptions | undefined
}

/**
 * Options of {@link TmdbConfig.layer}: an `accessToken` or an `apiKey` (the access token wins when both are given),
 * each a string or a `Redacted`, plus the settings.
 *
 * @since 0.1.0
 */
export type TmdbConfigOptions =
  & TmdbConfigSettings
  & (
    | { readonly accessToken: Secret; readonly apiKey?: Secret | undefined }
    | { readonly apiKey: Secret; readonly accessToken?: Secret | undefined }
  )

/**
 * What {@link TmdbConfig} provides.
 *
 * @since 0.1.0
 */
export interface TmdbConfigShape {
  readonly credential: Credential
  readonly baseUrl: string
  readonly webBaseUrl: string
  readonly timeout: Duration.Duration
  readonly retrySchedule: RetrySchedule
}

/** @since 0.1.0 */
export const defaultBaseUrl = "https://api.themoviedb.org"

/** @since 0.1.0 */
export const defaultWebBaseUrl = "https://www.themoviedb.org"

/** @since 0.1.0 */
export const defaultTimeout: Duration.Duration = Duration.seconds(10)

const trimSlash = (url: string) => url.replace(/\/+$/, "")

const optionalSecret = (name: string) =>
  Config.option(Config.redacted(Config.nonEmptyString(name))).pipe(
    Config.orElse(() => Config.succeed(Option.none()))
  )

const settingsConfig: Config.Config<TmdbConfigSettings> = Config.all({
  baseUrl: Config.option(Config.nonEmptyString("TMDB_BASE_URL")),
  webBaseUrl: Config.option(Config.nonEmptyString("TMDB_WEB_URL")),
  timeout: Config.option(Config.duration("TMDB_TIMEOUT"))
}).pipe(Config.map(({ baseUrl, timeout, webBaseUrl }): TmdbConfigSettings => ({
  ...Option.match(baseUrl, { onNone: () => ({}), onSome: (baseUrl) => ({ baseUrl }) }),
  ...Option.match(webBaseUrl, { onNone: () => ({}), onSome: (webBaseUrl) => ({ webBaseUrl }) }),
  ...Option.match(timeout, { onNone: () => ({}), onSome: (timeout) => ({ timeout }) })
})))

/** The message of the `ConfigError` for a missing credential. */
export const missingCredentialMessage =
  "No TMDB credential: set TMDB_ACCESS_TOKEN (API Read Access Token, preferred) or TMDB_API_KEY (v3 API key)"

const config: Config.Config<TmdbConfigOptions> = Config.all({
  accessToken: optionalSecret("TMDB_ACCESS_TOKEN"),
  apiKey: optionalSecret("TMDB_API_KEY"),
  settings: settingsConfig
}).pipe(
  Config.mapOrFail(({ accessToken, apiKey, settings }): Either.Either<
    TmdbConfigOptions,
    ConfigError.ConfigError
  > => {
    if (Option.isSome(accessToken)) return Either.right({ ...settings, accessToken: accessToken.value })
    if (Option.isSome(apiKey)) return Either.right({ ...settings, apiKey: apiKey.value })
    return Either.left(ConfigError.MissingData(["TMDB_ACCESS_TOKEN"], missingCredentialMessage))
  })
)

/**
 * The configuration of the TMDB client: credential, URLs, timeout and retry policy.
 *
 * @example
 * ```ts
 * const Live = AuthService.layer.pipe(
 *   Layer.provide(TmdbConfig.layer({ accessToken: process.env.TMDB_ACCESS_TOKEN! })),
 *   Layer.provide(NodeHttpClient.layerUndici)
 * )
 * ```
 * @since 0.1.0
 */
export class TmdbConfig extends Context.Tag("effect-tmdb-auth/TmdbConfig")<TmdbConfig, TmdbConfigShape>() {
  /** Builds the configuration value from explicit options. */
  static make(options: TmdbConfigOptions): TmdbConfigShape {
    const credential = options.accessToken !== undefined
      ? Credential.AccessToken({ token: toRedacted(options.accessToken) })
      : Credential.ApiKey({ key: toRedacted(options.apiKey!) })
    return {
      credential,
      baseUrl: trimSlash(options.baseUrl ?? defaultBaseUrl),
      webBaseUrl: trimSlash(options.webBaseUrl ?? defaultWebBaseUrl),
      timeout: Duration.decode(options.timeout ?? defaultTimeout),
      retrySchedule: retrySchedule(options.retry)
    }
  }

  /**
   * The options read from `Config` (environment variables by default), as used by {@link TmdbConfig.layerConfig}:
   * to combine with your own settings.
   */
  static readonly config: Config.Config<TmdbConfigOptions> = config

  /** The settings alone (`TMDB_BASE_URL`, `TMDB_WEB_URL`, `TMDB_TIMEOUT`), for a credential that comes from elsewhere. */
  static readonly settingsConfig: Config.Config<TmdbConfigSettings> = settingsConfig

  /** A layer from explicit options. */
  static layer(options: TmdbConfigOptions): Layer.Layer<TmdbConfig> {
    return Layer.sync(TmdbConfig, () => TmdbConfig.make(options))
  }

  /**
   * Reads the configuration through Effect `Config` (environment variables by default):
   * `TMDB_ACCESS_TOKEN` (preferred) or `TMDB_API_KEY`, and the optional `TMDB_BASE_URL`, `TMDB_WEB_URL` and
   * `TMDB_TIMEOUT` (a duration such as `5 seconds`). Fails with a `ConfigError` naming both credential variables
   * when neither is set.
   */
  static layerConfig: Layer.Layer<TmdbConfig, ConfigError.ConfigError> = Layer.effect(
    TmdbConfig,
    Effect.gen(function*() {
      const options = yield* config
      return TmdbConfig.make(options)
    })
  )
}
