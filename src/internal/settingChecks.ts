/**
 * A check per setting of `TmdbConfig`: each returns the normalised value, or a message that names the setting and the
 * fix (never a secret's value). `TmdbConfig` turns a message into a `ConfigError` at the setting's (or variable's)
 * name.
 */
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { type RetryOptions, type RetrySchedule, retrySchedule } from "../RetryPolicy.js"
import type { AdmissionOptions, AdmissionSettings, Secret } from "../TmdbConfig.js"
import { toRedacted } from "./secret.js"

export const checkUrl =
  (setting: "baseUrl" | "webBaseUrl", example: string) => (input: string): Either.Either<string, string> => {
    const url = Option.getOrUndefined(Option.liftThrowable(() => new URL(input))())
    if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:")) {
      return Either.left(`${setting} must be an http(s) URL such as ${example}, not ${JSON.stringify(input)}`)
    }
    if (url.search !== "" || url.hash !== "") {
      return Either.left(`${setting} must not carry a query string or fragment: use ${JSON.stringify(url.origin)}`)
    }
    const trimmed = input.replace(/\/+$/, "")
    if (setting === "baseUrl" && /\/[34]$/.test(url.pathname.replace(/\/+$/, ""))) {
      const origin = trimmed.replace(/\/[34]$/, "")
      return Either.left(
        `baseUrl must be the API origin without the version path (the library adds /3 and /4 itself): ` +
          `use ${JSON.stringify(origin)}, not ${JSON.stringify(input)}`
      )
    }
    return Either.right(trimmed)
  }

export const checkLateAnswerGrace = (input: Duration.DurationInput): Either.Either<Duration.Duration, string> => {
  const duration = Option.getOrUndefined(Option.liftThrowable(() => Duration.decode(input))())
  return duration !== undefined && Duration.isFinite(duration) && Duration.toMillis(duration) > 0
    ? Either.right(duration)
    : Either.left(
      `lateAnswerGrace must be a positive, finite duration such as "2 minutes", not ${JSON.stringify(String(input))}`
    )
}

export const checkMaxResponseBytes = (input: number): Either.Either<number, string> =>
  Number.isInteger(input) && input > 0
    ? Either.right(input)
    : Either.left(`maxResponseBytes must be a whole number of bytes, 1 or more, not ${JSON.stringify(String(input))}`)

export const checkRequestSpans = (input: unknown): Either.Either<boolean, string> =>
  input === undefined || typeof input === "boolean"
    ? Either.right(input === true)
    : Either.left(`requestSpans must be true or false, not ${JSON.stringify(String(input))}`)
const checkSecret = (setting: "accessToken" | "apiKey") => {
  const what = setting === "accessToken" ? "the API Read Access Token" : "the v3 API key"
  return (secret: Secret): Either.Either<Redacted.Redacted<string>, string> => {
    const redacted = toRedacted(secret)
    const value = Redacted.value(redacted)
    if (value === "") return Either.left(`${setting} is empty: give ${what} from TMDB's API settings page`)
    // eslint-disable-next-line no-control-regex
    if (/[\s\u0000-\u001f\u007f-\u009f]/.test(value)) {
      return Either.left(
        `${setting} contains whitespace or a control character (a line break copied along?): ${what} is one word, remove the rest`
      )
    }
    return Either.right(redacted)
  }
}

export const checkAccessToken = checkSecret("accessToken")
export const checkApiKey = checkSecret("apiKey")

/** A duration, or a string read from the environment that should be one (`Duration.decode` throws when not). */
export const checkTimeout = (input: Duration.DurationInput | string): Either.Either<Duration.Duration, string> => {
  const decoded = Option.getOrUndefined(Option.liftThrowable(() => Duration.decode(input as Duration.DurationInput))())
  return decoded === undefined || !Duration.isFinite(decoded) || Duration.toMillis(decoded) <= 0
    ? Either.left(
      `timeout must be a positive, finite duration such as "10 seconds", not ${JSON.stringify(String(input))}`
    )
    : Either.right(decoded)
}

export const checkRetry = (retry: RetryOptions | undefined): Either.Either<RetrySchedule, string> => {
  // Not reachable from TypeScript, but from JavaScript (`retry: false`): a configuration error, not a crash.
  if (retry !== undefined && (typeof retry !== "object" || retry === null)) {
    return Either.left(
      `retry must be an object such as { maxRetries: 0 } (no retries) or { schedule }, not ${String(retry)}`
    )
  }
  const maxRestarts = retry?.maxRestarts
  if (maxRestarts !== undefined && !(Number.isInteger(maxRestarts) && maxRestarts >= 0)) {
    return Either.left(`retry.maxRestarts must be a whole number, 0 or more, not ${String(maxRestarts)}`)
  }
  if (retry !== undefined && !("schedule" in retry)) {
    const { maxRetries } = retry
    if (maxRetries !== undefined && !(Number.isInteger(maxRetries) && maxRetries >= 0)) {
      return Either.left(`retry.maxRetries must be a whole number, 0 or more, not ${String(maxRetries)}`)
    }
    for (const key of ["maxWait", "initialDelay", "maxRetryAfter"] as const) {
      const value = retry[key]
      if (value === undefined) continue
      // Duration.decode turns a negative number into zero: refuse the sign before decoding.
      const negative = (typeof value === "number" && value < 0) || (typeof value === "string" && /^\s*-/.test(value))
      const decoded = Option.getOrUndefined(Option.liftThrowable(() => Duration.decode(value))())
      const allowsZero = key === "maxWait"
      if (
        negative || decoded === undefined || !Duration.isFinite(decoded) ||
        (!allowsZero && Duration.toMillis(decoded) <= 0)
      ) {
        return Either.left(
          `retry.${key} must be a ${allowsZero ? "" : "positive "}finite duration such as "30 seconds", not ${
            JSON.stringify(String(value))
          }`
        )
      }
    }
  }
  return Either.right(retrySchedule(retry))
}

export const checkAdmission = (
  admission: AdmissionOptions | false | undefined,
  defaultMaxInFlight: number
): Either.Either<AdmissionSettings, string> => {
  if (admission === false) return Either.right(false)
  const maxInFlight = admission?.maxInFlight ?? defaultMaxInFlight
  if (!Number.isInteger(maxInFlight) || maxInFlight < 1) {
    return Either.left(`admission.maxInFlight must be a whole number, 1 or more, not ${String(maxInFlight)}`)
  }
  const rateLimit = admission?.rateLimit
  if (rateLimit === undefined) return Either.right({ maxInFlight, rateLimit: undefined })
  if (!(Number.isFinite(rateLimit.limit) && rateLimit.limit > 0)) {
    return Either.left(
      `admission.rateLimit.limit must be a positive number of requests, not ${String(rateLimit.limit)}`
    )
  }
  const window = Option.getOrUndefined(Option.liftThrowable(() => Duration.decode(rateLimit.window))())
  if (window === undefined || !Duration.isFinite(window) || Duration.toMillis(window) <= 0) {
    return Either.left(
      `admission.rateLimit.window must be a positive duration such as "1 second", not ${
        JSON.stringify(String(rateLimit.window))
      }`
    )
  }
  return Either.right({ maxInFlight, rateLimit: { limit: rateLimit.limit, window } })
}
