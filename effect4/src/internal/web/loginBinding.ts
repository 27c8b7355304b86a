/**
 * The login binding (login CSRF): `login` hands the browser a short-lived signed cookie holding the SHA-256 of the
 * request token, where to return, and when the binding ends; the callback accepts a request token only from the
 * browser holding its binding. Also the `returnTo` check (open redirects).
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Base64Url from "effect/encoding/Base64Url"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { constantTimeEqual, sha256 } from "./ids.js"
import type { Signer } from "./keys.js"

const LoginBinding = Schema.fromJsonString(Schema.Struct({ h: Schema.String, r: Schema.String, e: Schema.Number }))

/** A `returnTo` longer than this is not kept: the login cookie must stay well under browsers' 4 KB. */
export const MAX_RETURN_TO = 1024

/** A `returnTo` that stays on this app (a same-origin path, normalised), else `/`. */
export const safeReturnTo = (origin: string, returnTo: string | undefined): string => {
  if (returnTo === undefined || returnTo.length > MAX_RETURN_TO) return "/"
  if (!returnTo.startsWith("/") || returnTo.startsWith("//")) return "/"
  if (Array.from(returnTo).some((c) => c === "\\" || c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) return "/"
  try {
    const url = new URL(returnTo, origin)
    // `/.//evil.example` normalises to `//evil.example`, which a browser reads as another host.
    if (url.origin !== origin || url.pathname.startsWith("//")) return "/"
    // Normalising percent-encodes: `<` or a full-width space grows to 3-9 bytes. The limit holds for what is stored.
    const normalised = `${url.pathname}${url.search}${url.hash}`
    return normalised.length > MAX_RETURN_TO ? "/" : normalised
  } catch {
    return "/"
  }
}

/** The login cookie's value for a request token: signed, expiring `loginMillis` from now. */
export const makeBinding = (
  signer: Signer,
  token: string,
  returnTo: string,
  loginMillis: number
): Effect.Effect<string> =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const binding = Schema.encodeSync(LoginBinding)({ h: yield* sha256(token), r: returnTo, e: now + loginMillis })
    return yield* signer.sign(Base64Url.encode(binding))
  })

/** The binding's `returnTo`, if the cookie is ours, unexpired, and for this request token. */
export const boundTo = (
  signer: Signer,
  cookie: string | undefined,
  token: string
): Effect.Effect<Option.Option<string>> =>
  Effect.gen(function*() {
    if (cookie === undefined || token === "") return Option.none<string>()
    const payload = yield* signer.verify(cookie)
    if (Option.isNone(payload)) return Option.none<string>()
    const text = Base64Url.decodeString(payload.value)
    if (Result.isFailure(text)) return Option.none<string>()
    const binding = Schema.decodeResult(LoginBinding)(text.success)
    if (Result.isFailure(binding)) return Option.none<string>()
    if ((yield* Clock.currentTimeMillis) >= binding.success.e) return Option.none<string>()
    const hash = yield* sha256(token)
    return constantTimeEqual(hash, binding.success.h) ? Option.some(binding.success.r) : Option.none<string>()
  })
