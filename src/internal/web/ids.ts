/**
 * Ids of the web login: random opaque ids, their SHA-256 (the store's keys), and a constant-time comparison. Web
 * Crypto (a global in Node and browsers), so nothing here loads node:crypto.
 */
import * as Effect from "effect/Effect"
import * as Encoding from "effect/Encoding"

const encoder = new TextEncoder()

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
