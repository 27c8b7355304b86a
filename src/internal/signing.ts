/**
 * Web Crypto helpers of the web login: HMAC-SHA-256 signatures for cookies, SHA-256 digests, random ids. Web Crypto
 * (a global in Node 20 and browsers), so nothing here loads node:crypto.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Encoding from "effect/Encoding"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"

const encoder = new TextEncoder()

/** An HMAC key from the app's signing key, imported once. */
export const hmacKey = (secret: Redacted.Redacted<string>): Effect.Effect<CryptoKey> =>
  Effect.promise(() =>
    globalThis.crypto.subtle.importKey(
      "raw",
      encoder.encode(Redacted.value(secret)),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign", "verify"]
    )
  )

/** `payload.signature`, the signature in base64url. */
export const sign = (key: CryptoKey, payload: string): Effect.Effect<string> =>
  Effect.map(
    Effect.promise(() => globalThis.crypto.subtle.sign("HMAC", key, encoder.encode(payload))),
    (mac) => `${payload}.${Encoding.encodeBase64Url(new Uint8Array(mac))}`
  )

/** The payload of a value `sign` made with this key, or None (tampered, another key, malformed). Constant time. */
export const verify = (key: CryptoKey, signed: string): Effect.Effect<Option.Option<string>> => {
  const dot = signed.lastIndexOf(".")
  if (dot <= 0) return Effect.succeedNone
  const payload = signed.slice(0, dot)
  const mac = Encoding.decodeBase64Url(signed.slice(dot + 1))
  if (Either.isLeft(mac)) return Effect.succeedNone
  return Effect.map(
    Effect.promise(() =>
      globalThis.crypto.subtle.verify("HMAC", key, new Uint8Array(mac.right), encoder.encode(payload))
    ),
    (valid) => valid ? Option.some(payload) : Option.none()
  )
}

/** SHA-256 of a text, in hex. */
export const sha256 = (text: string): Effect.Effect<string> =>
  Effect.map(
    Effect.promise(() => globalThis.crypto.subtle.digest("SHA-256", encoder.encode(text))),
    (digest) => Encoding.encodeHex(new Uint8Array(digest))
  )

/** 32 random bytes in base64url: an opaque, unguessable id. */
export const randomId = (): string => {
  const bytes = new Uint8Array(32)
  globalThis.crypto.getRandomValues(bytes)
  return Encoding.encodeBase64Url(bytes)
}

/** Equal texts, compared in time that does not depend on where they differ. */
export const constantTimeEqual = (a: string, b: string): boolean => {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i)
  return diff === 0
}
