/**
 * The web login's options, checked once at startup: a mistake is a `ConfigError` naming the setting and the fix.
 */
import * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import type * as HttpServerRequest from "effect/http/HttpServerRequest"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import type { TmdbWebLoginOptions } from "../../web/TmdbWebLogin.js"
import { weakKeyMessage, weakKeyReason } from "./keys.js"

/** The names of the two cookies, as sent to and read from browsers (`__Host-` on https). */
export interface CookieNames {
  readonly session: string
  readonly login: string
}

/** The checked options. */
export interface Settings {
  /** The public URL without a trailing slash in its path. */
  readonly publicUrl: URL
  readonly origin: string
  /** The public URL's path, "" at the root: routes are `{base}{prefix}/...` as browsers see them. */
  readonly base: string
  /** https: cookies `Secure` with the `__Host-` prefix. */
  readonly secure: boolean
  /** The first signs; every one verifies. */
  readonly signingKeys: readonly [Redacted.Redacted<string>, ...Array<Redacted.Redacted<string>>]
  readonly prefix: string
  readonly cookies: CookieNames
  readonly idleMillis: number
  readonly absoluteMillis: number
  readonly loginMillis: number
  readonly revalidateMillis: number
  readonly maxSessionsPerAccount: number
  readonly sweepMillis: number
  /** Undefined: no limit on `GET {prefix}/login`. */
  readonly loginRateLimit: LoginRateLimit | undefined
}

/** The login route's limit, checked. */
export interface LoginRateLimit {
  readonly limit: number
  readonly window: Duration.Duration
  readonly key: (request: HttpServerRequest.HttpServerRequest) => string
}

/**
 * The client's address as a rate-limit key: IPv4 as it is (also when mapped into IPv6), IPv6 grouped by its /64 (one
 * host usually holds a whole /64).
 */
export const clientAddressKey = (request: HttpServerRequest.HttpServerRequest): string => {
  const address = Option.getOrElse(request.remoteAddress, () => "unknown")
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (mapped !== null) return mapped[1]!
  if (!address.includes(":")) return address
  const [head = "", tail = ""] = address.split("%")[0]!.split("::")
  const left = head === "" ? [] : head.split(":")
  const right = tail === "" ? [] : tail.split(":")
  const groups = address.includes("::")
    ? [...left, ...Array.from({ length: Math.max(0, 8 - left.length - right.length) }, () => "0"), ...right]
    : left
  return `${groups.slice(0, 4).map((g) => g.toLowerCase().replace(/^0+(?=.)/, "")).join(":")}::/64`
}

/** The default session cookie name (`__Host-tmdb_session` on https). */
export const defaultCookieName = "tmdb_session"

/** The login cookie that goes with a session cookie: `x_session` → `x_login`, else `x_login` appended. */
export const loginCookieFor = (cookieName: string) =>
  cookieName.endsWith("_session") ? `${cookieName.slice(0, -"_session".length)}_login` : `${cookieName}_login`

const duration = (
  name: string,
  input: Duration.Input | undefined,
  fallback: Duration.Input
): Result.Result<number, string> => {
  const decoded = Option.getOrUndefined(Duration.fromInput(input ?? fallback))
  return decoded !== undefined && Duration.isFinite(decoded) && Duration.toMillis(decoded) > 0
    ? Result.succeed(Duration.toMillis(decoded))
    : Result.fail(`${name} must be a positive, finite duration such as "7 days", not ${JSON.stringify(String(input))}`)
}

/** A `ConfigError` at the setting's name: the message, then `at ["setting"]`. */
const invalid = (path: string, message: string) =>
  new Config.ConfigError(
    new Schema.SchemaError(new SchemaIssue.Pointer([path], new SchemaIssue.InvalidValue({ message })))
  )

/** Every signing key checked (never shown); the first signs. */
export const checkSigningKeys = (
  setting: string,
  input: TmdbWebLoginOptions["signingKey"]
): Result.Result<Settings["signingKeys"], Config.ConfigError> => {
  const list = (Array.isArray(input) ? input : [input]) as ReadonlyArray<Redacted.Redacted<string> | string>
  const keys = list.map((key) => Redacted.isRedacted(key) ? key : Redacted.make(key))
  if (keys.length === 0) {
    return Result.fail(invalid(setting, weakKeyMessage(setting, "the list of keys is empty")))
  }
  for (const [i, key] of keys.entries()) {
    const reason = weakKeyReason(Redacted.value(key))
    if (reason !== undefined) {
      return Result.fail(
        invalid(setting, weakKeyMessage(setting, keys.length > 1 ? `key ${i + 1}: ${reason}` : reason))
      )
    }
  }
  return Result.succeed(keys as unknown as Settings["signingKeys"])
}

/** Checks the options at startup. */
export const checkOptions = (options: TmdbWebLoginOptions): Result.Result<Settings, Config.ConfigError> => {
  let url: URL
  try {
    url = new URL(options.publicUrl)
  } catch {
    return Result.fail(invalid("publicUrl", `publicUrl must be the app's URL, such as "https://app.example"`))
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    return Result.fail(invalid("publicUrl", "publicUrl must be an http(s) URL"))
  }
  if (url.search !== "" || url.hash !== "") {
    return Result.fail(invalid("publicUrl", "publicUrl must not carry a query or a fragment"))
  }
  const keys = checkSigningKeys("signingKey", options.signingKey)
  if (Result.isFailure(keys)) return Result.fail(keys.failure)
  const prefix = options.prefix ?? "/auth/tmdb"
  if (!/^\/[A-Za-z0-9._~\-/]*[^/]$/.test(prefix) || prefix.includes("//")) {
    return Result.fail(invalid("prefix", `prefix must be a path such as "/auth/tmdb", not ${JSON.stringify(prefix)}`))
  }
  const cookieName = options.cookieName ?? defaultCookieName
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(cookieName)) {
    return Result.fail(
      invalid(
        "cookieName",
        `cookieName must be letters, digits, "_", "." or "-" (at most 64, no "__" prefix: https adds "__Host-" itself), not ${
          JSON.stringify(cookieName)
        }`
      )
    )
  }
  const lifetimes = [
    ["idleTimeout", duration("idleTimeout", options.idleTimeout, "7 days")],
    ["absoluteTimeout", duration("absoluteTimeout", options.absoluteTimeout, "30 days")],
    ["loginTimeout", duration("loginTimeout", options.loginTimeout, "15 minutes")],
    ["revalidateAfter", duration("revalidateAfter", options.revalidateAfter, "5 minutes")]
  ] as const
  const millis: Array<number> = []
  const sweep = duration("sweepInterval", options.sweepInterval, "1 minute")
  if (Result.isFailure(sweep)) return Result.fail(invalid("sweepInterval", sweep.failure))
  const maxSessions = options.maxSessionsPerAccount ?? 10
  if (!Number.isInteger(maxSessions) || maxSessions < 1) {
    return Result.fail(
      invalid("maxSessionsPerAccount", `maxSessionsPerAccount must be a whole number of at least 1, not ${maxSessions}`)
    )
  }
  const rate = options.loginRateLimit === false
    ? undefined
    : options.loginRateLimit ?? { limit: 10, window: "1 minute" }
  let loginRateLimit: LoginRateLimit | undefined
  if (rate !== undefined) {
    const window = duration("loginRateLimit.window", rate.window, "1 minute")
    if (!Number.isInteger(rate.limit) || rate.limit < 1 || Result.isFailure(window)) {
      return Result.fail(
        invalid(
          "loginRateLimit",
          `loginRateLimit must be { limit: a whole number >= 1, window: a duration such as "1 minute" } or false (no limit)`
        )
      )
    }
    loginRateLimit = { limit: rate.limit, window: Duration.millis(window.success), key: rate.key ?? clientAddressKey }
  }
  for (const [name, lifetime] of lifetimes) {
    if (Result.isFailure(lifetime)) return Result.fail(invalid(name, lifetime.failure))
    millis.push(lifetime.success)
  }
  const secure = url.protocol === "https:"
  // `__Host-`: Secure, Path=/, no Domain; a browser refuses such a cookie from a sibling subdomain or over http.
  const host = secure ? "__Host-" : ""
  const path = url.pathname.replace(/\/+$/, "")
  return Result.succeed({
    publicUrl: new URL(path || "/", url.origin),
    origin: url.origin,
    base: path,
    secure,
    signingKeys: keys.success,
    prefix,
    cookies: { session: `${host}${cookieName}`, login: `${host}${loginCookieFor(cookieName)}` },
    idleMillis: millis[0]!,
    absoluteMillis: millis[1]!,
    loginMillis: millis[2]!,
    revalidateMillis: millis[3]!,
    maxSessionsPerAccount: maxSessions,
    sweepMillis: sweep.success,
    loginRateLimit
  })
}
