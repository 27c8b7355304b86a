/**
 * The application's TMDB credential and the client's settings, checked when the layer is built.
 *
 * Each setting's check (the normalised value, or a message naming it and the fix) is in src/internal/settingChecks.ts.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import {
  checkAccessToken,
  checkAdmission,
  checkApiKey,
  checkLateAnswerGrace,
  checkMaxResponseBytes,
  checkRequestSpans,
  checkRetry,
  checkTimeout,
  checkUrl
} from "./internal/settingChecks.js"
import type { RetryOptions, RetrySchedule } from "./RetryPolicy.js"
import { defaultRetryOptions } from "./RetryPolicy.js"

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
  /**
   * API origin, an http(s) URL without the version path (the library adds `/3` and `/4`). A path prefix such as a
   * proxy's `/tmdb` is kept. Default `https://api.themoviedb.org`.
   */
  readonly baseUrl?: string | undefined
  /** Origin of TMDB's website, where users approve request tokens. Default `https://www.themoviedb.org`. */
  readonly webBaseUrl?: string | undefined
  /** Time allowed for one attempt of one request (connect, answer and body); positive. Default 10 seconds. */
  readonly timeout?: Duration.Input | undefined
  /** The retry policy: tuning for the default, or your own `Schedule`. */
  readonly retry?: RetryOptions | undefined
  /**
   * Admission control of every request through `TmdbClient` (on by default): a cap on requests in flight, a rate
   * learned from TMDB's 429s, and an optional explicit limit. `false` switches it off.
   */
  readonly admission?: AdmissionOptions | false | undefined
  /**
   * Also record a client span (`http.client GET`, `url.full` with the API key and session ids shown as
   * `<redacted>`) for every HTTP attempt, under the method's span. Default `false`: each public method records one
   * span, and per-request spans would cost about 14% of a login's CPU (BENCHMARKS.md).
   */
  readonly requestSpans?: boolean | undefined
  /**
   * How long a request that creates something (`session/new`, `session/convert/4`, v4 `access_token`) may go on in
   * the background after its caller stopped waiting (a timeout, an interruption), so that what it creates is deleted
   * when it comes; positive. Default 2 minutes.
   */
  readonly lateAnswerGrace?: Duration.Input | undefined
  /**
   * The largest answer read, in bytes; a bigger one fails with `MalformedResponse` without the rest being read.
   * Default 1 MB (TMDB's auth answers are under 1 KB).
   */
  readonly maxResponseBytes?: number | undefined
}

/**
 * Admission control settings (see docs/admission.md).
 *
 * @since 0.2.0
 */
export interface AdmissionOptions {
  /** Requests in flight at once, at most (TMDB allows about 20 connections per IP). Default 20. */
  readonly maxInFlight?: number | undefined
  /**
   * A limit to obey as given: at most `limit` requests per `window`, spaced evenly. Without it the rate is learned
   * from TMDB's 429s.
   */
  readonly rateLimit?: { readonly limit: number; readonly window: Duration.Input } | undefined
}

/**
 * Admission control as checked by {@link TmdbConfig.make}: `false` when switched off.
 *
 * @since 0.2.0
 */
export type AdmissionSettings =
  | false
  | {
    readonly maxInFlight: number
    readonly rateLimit: { readonly limit: number; readonly window: Duration.Duration } | undefined
  }

/** @since 0.2.0 */
export const defaultMaxInFlight = 20

/**
 * Options of {@link TmdbConfig.layer}: an `accessToken` or an `apiKey` (the access token is used when both are
 * given), each a string or a `Redacted`, plus the settings.
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
 * Options of {@link TmdbConfig.layerConfig}: each setting as a `Config`, read when the layer is built. A setting
 * left out is read from its `TMDB_*` variable ({@link TmdbConfig.variables}). A credential `Config` whose data is
 * missing counts as not given, so that the other credential can be used.
 *
 * @example
 * ```ts
 * TmdbConfig.layerConfig({ accessToken: Config.Redacted("MY_TMDB_TOKEN"), timeout: Config.succeed("5 seconds") })
 * ```
 * @since 0.2.0
 */
export interface TmdbConfigFromConfig {
  readonly accessToken?: Config.Config<Secret> | undefined
  readonly apiKey?: Config.Config<Secret> | undefined
  readonly baseUrl?: Config.Config<string> | undefined
  readonly webBaseUrl?: Config.Config<string> | undefined
  readonly timeout?: Config.Config<Duration.Input | string> | undefined
  readonly retry?: Config.Config<RetryOptions> | undefined
  readonly admission?: Config.Config<AdmissionOptions | false> | undefined
  readonly requestSpans?: Config.Config<boolean> | undefined
  readonly lateAnswerGrace?: Config.Config<Duration.Input> | undefined
  readonly maxResponseBytes?: Config.Config<number> | undefined
}

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
  /** The longest wait a `Retry-After` may impose, on the retry and on the pause of admission control. */
  readonly maxRetryAfter: Duration.Duration
  /** How many times a login starts over after an ambiguous failure (absent: the default, 3). */
  readonly maxRestarts?: number | undefined
  readonly admission: AdmissionSettings
  /** Whether every HTTP attempt records a client span of its own (absent: no). */
  readonly requestSpans?: boolean | undefined
  /** How long a request that creates something may go on after its caller stopped waiting (absent: the default). */
  readonly lateAnswerGrace?: Duration.Duration | undefined
  /** The largest answer read, in bytes (absent: the default). */
  readonly maxResponseBytes?: number | undefined
}

/** @since 0.1.0 */
export const defaultBaseUrl = "https://api.themoviedb.org"

/** @since 0.1.0 */
export const defaultWebBaseUrl = "https://www.themoviedb.org"

/** @since 0.1.0 */
export const defaultTimeout: Duration.Duration = Duration.seconds(10)

/** @since 0.4.0 */
export const defaultLateAnswerGrace: Duration.Duration = Duration.minutes(2)

/** @since 0.4.0 */
export const defaultMaxResponseBytes = 1024 * 1024

/**
 * The environment variables {@link TmdbConfig.layerConfig} reads for the settings it is not given.
 *
 * @since 0.2.0
 */
export const variables = {
  accessToken: "TMDB_ACCESS_TOKEN",
  apiKey: "TMDB_API_KEY",
  baseUrl: "TMDB_BASE_URL",
  webBaseUrl: "TMDB_WEB_URL",
  timeout: "TMDB_TIMEOUT"
} as const

const checkBaseUrl = checkUrl("baseUrl", defaultBaseUrl)
const checkWebBaseUrl = checkUrl("webBaseUrl", defaultWebBaseUrl)

/** A `ConfigError` for a value that was given but is wrong: `message` names the setting and the fix. */
const invalid = (setting: string) => (message: string): Config.ConfigError =>
  new Config.ConfigError(
    new Schema.SchemaError(new SchemaIssue.Pointer([setting], new SchemaIssue.InvalidValue({ message })))
  )

/** A `ConfigError` for a value that is required but was not given. */
const missing = (setting: string, message: string): Config.ConfigError =>
  new Config.ConfigError(
    new Schema.SchemaError(
      new SchemaIssue.Pointer([setting], new SchemaIssue.MissingKey({ messageMissingKey: message }))
    )
  )

/** Checks every option; the first mistake becomes a `ConfigError` at the setting's name. */
const validate = (options: TmdbConfigOptions): Result.Result<TmdbConfigShape, Config.ConfigError> =>
  Result.gen(function*() {
    // Both credentials are checked when both are given, though only the access token is sent.
    if (options.accessToken !== undefined && options.apiKey !== undefined) {
      yield* Result.mapError(checkApiKey(options.apiKey), invalid("apiKey"))
    }
    const credential = options.accessToken !== undefined
      ? Credential.AccessToken({
        token: yield* Result.mapError(checkAccessToken(options.accessToken), invalid("accessToken"))
      })
      : options.apiKey !== undefined
      ? Credential.ApiKey({ key: yield* Result.mapError(checkApiKey(options.apiKey), invalid("apiKey")) })
      : yield* Result.fail(missing("accessToken", missingCredentialMessage))
    return {
      credential,
      baseUrl: yield* Result.mapError(checkBaseUrl(options.baseUrl ?? defaultBaseUrl), invalid("baseUrl")),
      webBaseUrl: yield* Result.mapError(
        checkWebBaseUrl(options.webBaseUrl ?? defaultWebBaseUrl),
        invalid("webBaseUrl")
      ),
      timeout: yield* Result.mapError(checkTimeout(options.timeout ?? defaultTimeout), invalid("timeout")),
      retrySchedule: yield* Result.mapError(checkRetry(options.retry), invalid("retry")),
      maxRetryAfter: Duration.fromInputUnsafe(
        (options.retry !== undefined && !("schedule" in options.retry) ? options.retry.maxRetryAfter : undefined) ??
          defaultRetryOptions.maxRetryAfter
      ),
      maxRestarts: options.retry?.maxRestarts ?? defaultRetryOptions.maxRestarts,
      admission: yield* Result.mapError(checkAdmission(options.admission, defaultMaxInFlight), invalid("admission")),
      requestSpans: yield* Result.mapError(checkRequestSpans(options.requestSpans), invalid("requestSpans")),
      lateAnswerGrace: yield* Result.mapError(
        checkLateAnswerGrace(options.lateAnswerGrace ?? defaultLateAnswerGrace),
        invalid("lateAnswerGrace")
      ),
      maxResponseBytes: yield* Result.mapError(
        checkMaxResponseBytes(options.maxResponseBytes ?? defaultMaxResponseBytes),
        invalid("maxResponseBytes")
      )
    }
  })

// Config --------------------------------------------------------------------------------------------------------

const isEmpty = (value: unknown): boolean =>
  value === "" || (Redacted.isRedacted(value) && Redacted.value(value) === "")

/**
 * An optional setting read through `Config`: missing data or an empty value counts as "not given"; any other value
 * must pass `check`, or the `Config` fails with a `ConfigError` at `name` (the variable; the setting for a `Config`
 * given to `layerConfig`, whose variable is not known).
 */
const optionalChecked = <A, B>(
  config: Config.Config<A>,
  check: (a: A) => Result.Result<B, string>,
  name: string
): Config.Config<Option.Option<B>> =>
  Config.mapEffect(Config.option(config), (option) =>
    Option.isNone(option) || isEmpty(option.value)
      ? Effect.succeedNone
      : Effect.fromResult(Result.mapBoth(check(option.value), { onFailure: invalid(name), onSuccess: Option.some })))

// The variable is checked as a string (then wrapped in `Redacted` by the check), so errors name the variable.
const envSecret = (name: string): Config.Config<Secret> => Config.String(name)

/** The message of the `ConfigError` for a missing credential. */
export const missingCredentialMessage =
  "No TMDB credential: set TMDB_ACCESS_TOKEN (API Read Access Token, preferred) or TMDB_API_KEY (v3 API key)"

const settingsFrom = (options: TmdbConfigFromConfig): Config.Config<TmdbConfigSettings> =>
  Config.all({
    baseUrl: optionalChecked(
      options.baseUrl ?? Config.String(variables.baseUrl),
      checkBaseUrl,
      options.baseUrl === undefined ? variables.baseUrl : "baseUrl"
    ),
    webBaseUrl: optionalChecked(
      options.webBaseUrl ?? Config.String(variables.webBaseUrl),
      checkWebBaseUrl,
      options.webBaseUrl === undefined ? variables.webBaseUrl : "webBaseUrl"
    ),
    timeout: optionalChecked(
      options.timeout ?? Config.String(variables.timeout),
      checkTimeout,
      options.timeout === undefined ? variables.timeout : "timeout"
    ),
    retry: options.retry === undefined ? Config.succeed(Option.none()) : Config.option(options.retry),
    admission: options.admission === undefined ? Config.succeed(Option.none()) : Config.option(options.admission),
    requestSpans: options.requestSpans === undefined
      ? Config.succeed(Option.none())
      : Config.option(options.requestSpans),
    lateAnswerGrace: options.lateAnswerGrace === undefined
      ? Config.succeed(Option.none())
      : Config.option(options.lateAnswerGrace),
    maxResponseBytes: options.maxResponseBytes === undefined
      ? Config.succeed(Option.none())
      : Config.option(options.maxResponseBytes)
  }).pipe(Config.map((settings): TmdbConfigSettings => ({
    baseUrl: Option.getOrUndefined(settings.baseUrl),
    webBaseUrl: Option.getOrUndefined(settings.webBaseUrl),
    timeout: Option.getOrUndefined(settings.timeout),
    retry: Option.getOrUndefined(settings.retry),
    admission: Option.getOrUndefined(settings.admission),
    requestSpans: Option.getOrUndefined(settings.requestSpans),
    lateAnswerGrace: Option.getOrUndefined(settings.lateAnswerGrace),
    maxResponseBytes: Option.getOrUndefined(settings.maxResponseBytes)
  })))

const optionsFrom = (options: TmdbConfigFromConfig): Config.Config<TmdbConfigOptions> =>
  Config.all({
    accessToken: optionalChecked(
      options.accessToken ?? envSecret(variables.accessToken),
      checkAccessToken,
      options.accessToken === undefined ? variables.accessToken : "accessToken"
    ),
    apiKey: optionalChecked(
      options.apiKey ?? envSecret(variables.apiKey),
      checkApiKey,
      options.apiKey === undefined ? variables.apiKey : "apiKey"
    ),
    settings: settingsFrom(options)
  }).pipe(
    Config.mapEffect(({ accessToken, apiKey, settings }): Effect.Effect<TmdbConfigOptions, Config.ConfigError> => {
      if (Option.isSome(accessToken)) return Effect.succeed({ ...settings, accessToken: accessToken.value })
      if (Option.isSome(apiKey)) return Effect.succeed({ ...settings, apiKey: apiKey.value })
      return Effect.fail(missing(
        variables.accessToken,
        options.accessToken === undefined && options.apiKey === undefined
          ? missingCredentialMessage
          : `${missingCredentialMessage}; the accessToken or apiKey Config given to layerConfig had no value either`
      ))
    })
  )

const makeLayer = (
  tag: Context.Service<TmdbConfig, TmdbConfigShape>,
  config: Config.Config<TmdbConfigOptions>
): Layer.Layer<TmdbConfig, Config.ConfigError> =>
  Layer.effect(tag, Effect.flatMap(config, (options) => Effect.fromResult(validate(options))))

/**
 * {@link TmdbConfig.layerConfig}: a function of the settings' `Config`s that is also, for the programs written
 * before it took options, the layer that reads everything from the environment.
 *
 * @since 0.2.0
 */
export type LayerConfig =
  & ((options?: TmdbConfigFromConfig) => Layer.Layer<TmdbConfig, Config.ConfigError>)
  & Layer.Layer<TmdbConfig, Config.ConfigError>

const makeLayerConfig = (tag: Context.Service<TmdbConfig, TmdbConfigShape>): LayerConfig => {
  const fromEnvironment = makeLayer(tag, optionsFrom({}))
  const fn = (options: TmdbConfigFromConfig = {}) => makeLayer(tag, optionsFrom(options))
  // Until 0.1 `layerConfig` was a layer value: the function carries that layer's fields and prototype, so that
  // `Effect.provide(TmdbConfig.layerConfig)` keeps working.
  return Object.assign(Object.setPrototypeOf(fn, Object.getPrototypeOf(fromEnvironment)), fromEnvironment)
}

/**
 * The configuration of the TMDB client: credential, URLs, timeout and retry policy. Every layer checks the settings
 * when it is built, before any request, and fails with a `ConfigError` that names the setting and the fix.
 *
 * @example
 * ```ts
 * const Live = AuthService.layer.pipe(
 *   Layer.provide(TmdbHttpClient.layer),
 *   Layer.provide(TmdbConfig.layer({ accessToken: process.env.TMDB_ACCESS_TOKEN! }))
 * )
 * ```
 * @since 0.1.0
 */
export class TmdbConfig extends Context.Service<TmdbConfig, TmdbConfigShape>()("effect-tmdb-auth/TmdbConfig") {
  /**
   * Checks the options and builds the configuration value. Fails with a `ConfigError` (an invalid value at the
   * setting's name) for a base URL that is not an http(s) origin or ends in `/3` or `/4`, an empty credential or one
   * with whitespace or control characters, a timeout that is not positive, or impossible retry settings.
   *
   * @since 0.2.0
   */
  static make(options: TmdbConfigOptions): Effect.Effect<TmdbConfigShape, Config.ConfigError> {
    return Effect.suspend(() => Effect.fromResult(validate(options)))
  }

  /**
   * The options read from `Config` (environment variables by default), as used by {@link TmdbConfig.layerConfig}:
   * to combine with your own settings. Each value is checked as it is read.
   */
  static readonly config: Config.Config<TmdbConfigOptions> = optionsFrom({})

  /** The settings alone (`TMDB_BASE_URL`, `TMDB_WEB_URL`, `TMDB_TIMEOUT`), for a credential that comes from elsewhere. */
  static readonly settingsConfig: Config.Config<TmdbConfigSettings> = settingsFrom({})

  /** The variables read by {@link TmdbConfig.layerConfig} for the settings it is not given. */
  static readonly variables = variables

  /**
   * A layer from explicit options, checked when it is built (see {@link TmdbConfig.make}).
   *
   * @since 0.2.0 fails with a `ConfigError` for a mistaken setting.
   */
  static layer(options: TmdbConfigOptions): Layer.Layer<TmdbConfig, Config.ConfigError> {
    return Layer.effect(TmdbConfig, TmdbConfig.make(options))
  }

  /**
   * Reads the configuration through Effect `Config`. Each setting may be given as a `Config`
   * (`accessToken: Config.Redacted("MY_TMDB_TOKEN")`); those left out are read from `TMDB_ACCESS_TOKEN` (preferred)
   * or `TMDB_API_KEY`, and the optional `TMDB_BASE_URL`, `TMDB_WEB_URL` and `TMDB_TIMEOUT` (a duration such as
   * `5 seconds`). Fails with a `ConfigError` naming the variable for a mistaken value, and naming both credential
   * variables when neither is set. `TmdbConfig.layerConfig` without a call is the same as `layerConfig()`.
   *
   * @example
   * ```ts
   * const Live = AuthService.layer.pipe(
   *   Layer.provide(TmdbConfig.layerConfig({ accessToken: Config.Redacted("MY_TMDB_TOKEN") })),
   *   Layer.provide(FetchHttpClient.layer)
   * )
   * ```
   */
  static readonly layerConfig: LayerConfig = makeLayerConfig(this)
}
