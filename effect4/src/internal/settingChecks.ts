/**
 * A check per setting of `TmdbConfig`: each returns the normalised value, or a message that names the setting and the
 * fix (never a secret's value). `TmdbConfig` turns a message into a `ConfigError` at the setting's (or variable's)
 * name.
 */
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import { type RetryOptions, type RetrySchedule, retrySchedule } from "../RetryPolicy.js"
import type { AdmissionOptions, AdmissionSettings, Secret } from "../TmdbConfig.js"
import { toRedacted } from "./secret.js"

export const checkUrl =
  (setting: "baseUrl" | "webBaseUrl", example: string) => (input: string): Result.Result<string, string> => {
    const url = Option.getOrUndefined(Option.liftThrowable(() => new URL(input))())
    if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:")) {
      return Result.fail(`${setting} must be an http(s) URL such as ${example}, not ${JSON.stringify(input)}`)
    }
    if (url.search !== "" || url.hash !== "") {
      return Result.fail(`${setting} must not carry a query string or fragment: use ${JSON.stringify(url.origin)}`)
    }
    const trimmed = input.replace(/\/+$/, "")
    if (setting === "baseUrl" && /\/[34]$/.test(url.pathname.replace(/\/+$/, ""))) {
      const origin = trimmed.replace(/\/[34]$/, "")
      return Result.fail(
        `baseUrl must be the API origin without the version path (the library adds /3 and /4 itself): ` +
          `use ${JSON.stringify(origin)}, not ${JSON.stringify(input)}`
      )
    }
    return Result.succeed(trimmed)
  }

export const checkLateAnswerGrace = (input: Duration.Input): Result.Result<Duration.Duration, string> => {
  const duration = Option.getOrUndefined(Option.liftThrowable(() => Duration.fromInputUnsafe(input))())
  return duration !== undefined && Duration.isFinite(duration) && Duration.toMillis(duration) > 0
    ? Result.succeed(duration)
    : Result.fail(
      `lateAnswerGrace must be a positive, finite duration such as "2 minutes", not ${JSON.stringify(String(input))}`
    )
}

export const checkMaxResponseBytes = (input: number): Result.Result<number, string> =>
  Number.isInteger(input) && input > 0
    ? Result.succeed(input)
    : Result.fail(`maxResponseBytes must be a whole number of bytes, 1 or more, not ${JSON.stringify(String(input))}`)

export const checkRequestSpans = (input: unknown): Result.Result<boolean, string> =>
  input === undefined || typeof input === "boolean"
    ? Result.succeed(input === true)
    : Result.fail(`requestSpans must be true or false, not ${JSON.stringify(String(input))}`)
const checkSecret = (setting: "accessToken" | "apiKey") => {
  const what = setting === "accessToken" ? "the API Read Access Token" : "the v3 API key"
  return (secret: Secret): Result.Result<Redacted.Redacted<string>, string> => {
    const redacted = toRedacted(secret)
    const value = Redacted.value(redacted)
    if (value === "") return Result.fail(`${setting} is empty: give ${what} from TMDB's API settings page`)
    // eslint-disable-next-line no-control-regex
    if (/[\s\u0000-\u001f\u007f-\u009f]/.test(value)) {
      return Result.fail(
        `${setting} contains whitespace or a control character (a line break copied along?): ${what} is one word, remove the rest`
      )
    }
    return Result.succeed(redacted)
  }
}

export const checkAccessToken = checkSecret("accessToken")
export const checkApiKey = checkSecret("apiKey")

/** A duration, or a string read from the environment that should be one (`Duration.fromInputUnsafe` throws when not). */
export const checkTimeout = (input: Duration.Input | string): Result.Result<Duration.Duration, string> => {
  const decoded = Option.getOrUndefined(Option.liftThrowable(() => Duration.fromInputUnsafe(input as Duration.Input))())
  return decoded === undefined || !Duration.isFinite(decoded) || Duration.toMillis(decoded) <= 0
    ? Result.fail(
      `timeout must be a positive, finite duration such as "10 seconds", not ${JSON.stringify(String(input))}`
    )
    : Result.succeed(decoded)
}

export const checkRetry = (retry: RetryOptions | undefined): Result.Result<RetrySchedule, string> => {
  // Not reachable from TypeScript, but from JavaScript (`retry: false`): a configuration error, not a crash.
  if (retry !== undefined && (typeof retry !== "object" || retry === null)) {
    return Result.fail(
      `retry must be an object such as { maxRetries: 0 } (no retries) or { schedule }, not ${String(retry)}`
    )
  }
  const maxRestarts = retry?.maxRestarts
  if (maxRestarts !== undefined && !(Number.isInteger(maxRestarts) && maxRestarts >= 0)) {
    return Result.fail(`retry.maxRestarts must be a whole number, 0 or more, not ${String(maxRestarts)}`)
  }
  if (retry !== undefined && !("schedule" in retry)) {
    const { maxRetries } = retry
    if (maxRetries !== undefined && !(Number.isInteger(maxRetries) && maxRetries >= 0)) {
      return Result.fail(`retry.maxRetries must be a whole number, 0 or more, not ${String(maxRetries)}`)
    }
    for (const key of ["maxWait", "initialDelay", "maxRetryAfter"] as const) {
      const value = retry[key]
      if (value === undefined) continue
      // A negative duration is refused by its sign (maxWait allows zero, not less).
      const negative = (typeof value === "number" && value < 0) || (typeof value === "string" && /^\s*-/.test(value))
      const decoded = Option.getOrUndefined(Option.liftThrowable(() => Duration.fromInputUnsafe(value))())
      const allowsZero = key === "maxWait"
      if (
        negative || decoded === undefined || !Duration.isFinite(decoded) ||
        (!allowsZero && Duration.toMillis(decoded) <= 0)
      ) {
        return Result.fail(
          `retry.${key} must be a ${allowsZero ? "" : "positive "}finite duration such as "30 seconds", not ${
            JSON.stringify(String(value))
          }`
        )
      }
    }
  }
  return Result.succeed(retrySchedule(retry))
}

export const checkAdmission = (
  admission: AdmissionOptions | false | undefined,
  defaultMaxInFlight: number
): Result.Result<AdmissionSettings, string> => {
  if (admission === false) return Result.succeed(false)
  const maxInFlight = admission?.maxInFlight ?? defaultMaxInFlight
  if (!Number.isInteger(maxInFlight) || maxInFlight < 1) {
    return Result.fail(`admission.maxInFlight must be a whole number, 1 or more, not ${String(maxInFlight)}`)
  }
  const rateLimit = admission?.rateLimit
  if (rateLimit === undefined) return Result.succeed({ maxInFlight, rateLimit: undefined })
  if (!(Number.isFinite(rateLimit.limit) && rateLimit.limit > 0)) {
    return Result.fail(
      `admission.rateLimit.limit must be a positive number of requests, not ${String(rateLimit.limit)}`
    )
  }
  const window = Option.getOrUndefined(Option.liftThrowable(() => Duration.fromInputUnsafe(rateLimit.window))())
  if (window === undefined || !Duration.isFinite(window) || Duration.toMillis(window) <= 0) {
    return Result.fail(
      `admission.rateLimit.window must be a positive duration such as "1 second", not ${
        JSON.stringify(String(rateLimit.window))
      }`
    )
  }
  return Result.succeed({ maxInFlight, rateLimit: { limit: rateLimit.limit, window } })
}
