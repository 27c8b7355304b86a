/**
 * The web login's keys: one key per purpose, derived from the app's signing key(s) with HKDF-SHA-256 and a label, so
 * that a value signed for one purpose (the login binding) never verifies as another (the session cookie). Signatures
 * are HMAC-SHA-256 in canonical base64url (no other spelling of the same bytes verifies). The first signing key signs;
 * every key of the list verifies, so keys rotate without signing everyone out. Web Crypto only (a global in Node and
 * browsers).
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Encoding from "effect/Encoding"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"

const encoder = new TextEncoder()

/** What a derived key is for; the label is part of the derivation. */
export type Purpose = "login-binding" | "session-cookie" | "at-rest"

const label = (purpose: Purpose) => encoder.encode(`effect-tmdb-auth/web ${purpose} v1`)
const SALT = encoder.encode("effect-tmdb-auth/web")

/**
 * Why a signing key is refused, or undefined when it is usable: at least 32 characters, not all whitespace, at least
 * 8 distinct characters (which also refuses one repeated character).
 */
export const weakKeyReason = (key: string): string | undefined => {
  if (key.length < 32) return "it is shorter than 32 characters"
  if (key.trim() === "") return "it is all whitespace"
  const distinct = new Set(key).size
  if (distinct === 1) return "it is one repeated character"
  if (distinct < 8) return `it has only ${distinct} distinct characters`
  const period = shortPeriod(key)
  if (period !== undefined) return `it repeats a pattern of ${period} characters`
  return undefined
}

/** The length of a short block the key repeats (`abcdefgh` × 4, `password-` × 3.5), if it is one. */
const shortPeriod = (key: string): number | undefined => {
  for (let period = 1; period <= key.length / 2; period++) {
    let repeats = true
    for (let i = period; i < key.length && repeats; i++) repeats = key[i] === key[i - period]
    if (repeats) return period
  }
  return undefined
}

/** The message of a refused key: names the rule and the fix, never the key. */
export const weakKeyMessage = (setting: string, reason: string) =>
  `${setting} must be at least 32 characters of random text, not all whitespace, with at least 8 distinct characters ` +
  `(${reason}): make one with \`openssl rand -base64 32\`, keep it secret and the same on every instance`

const deriveWith = (
  secret: Redacted.Redacted<string>,
  purpose: Purpose,
  algorithm: HmacKeyGenParams | AesKeyGenParams,
  usages: ReadonlyArray<KeyUsage>
): Effect.Effect<CryptoKey> =>
  Effect.promise(async () => {
    const base = await globalThis.crypto.subtle.importKey(
      "raw",
      encoder.encode(Redacted.value(secret)),
      "HKDF",
      false,
      ["deriveKey"]
    )
    return globalThis.crypto.subtle.deriveKey(
      { name: "HKDF", hash: "SHA-256", salt: SALT, info: label(purpose) },
      base,
      algorithm,
      false,
      [...usages]
    )
  })

/** The AES-GCM key of a purpose (at-rest encryption), one per signing key, the first being the current one. */
export const deriveAesKeys = (
  secrets: ReadonlyArray<Redacted.Redacted<string>>,
  purpose: Purpose
): Effect.Effect<ReadonlyArray<CryptoKey>> =>
  Effect.forEach(
    secrets,
    (secret) => deriveWith(secret, purpose, { name: "AES-GCM", length: 256 }, ["encrypt", "decrypt"])
  )

/** Signs and verifies values for one purpose. */
export interface Signer {
  /** `payload.signature`, the signature in base64url, with the current (first) key. */
  readonly sign: (payload: string) => Effect.Effect<string>
  /** The payload of a value `sign` made with any of the keys, or None (tampered, another key or purpose, malformed). */
  readonly verify: (signed: string) => Effect.Effect<Option.Option<string>>
}

/** HMAC-SHA-256 of 32 bytes in base64url without padding: 43 characters, the last one of 16. */
const CANONICAL_MAC = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/

/** A signer for `purpose`, from the signing keys (the first signs, all verify). */
export const makeSigner = (
  secrets: readonly [Redacted.Redacted<string>, ...Array<Redacted.Redacted<string>>],
  purpose: Purpose
): Effect.Effect<Signer> =>
  Effect.map(
    Effect.forEach(secrets, (secret) =>
      deriveWith(secret, purpose, { name: "HMAC", hash: "SHA-256", length: 256 }, ["sign", "verify"])),
    (keys): Signer => {
      const current = keys[0]!
      return {
        sign: (payload) =>
          Effect.map(
            Effect.promise(() =>
              globalThis.crypto.subtle.sign("HMAC", current, encoder.encode(payload))
            ),
            (mac) => `${payload}.${Encoding.encodeBase64Url(new Uint8Array(mac))}`
          ),
        verify: (signed) => {
          const dot = signed.lastIndexOf(".")
          if (dot <= 0) return Effect.succeedNone
          const text = signed.slice(dot + 1)
          // Only the one spelling `sign` produces: no padding, no other last character for the same bytes.
          if (!CANONICAL_MAC.test(text)) return Effect.succeedNone
          const mac = Encoding.decodeBase64Url(text)
          if (Either.isLeft(mac)) return Effect.succeedNone
          const payload = signed.slice(0, dot)
          const data = encoder.encode(payload)
          return Effect.promise(async () => {
            for (const key of keys) {
              if (await globalThis.crypto.subtle.verify("HMAC", key, new Uint8Array(mac.right), data)) {
                return Option.some(payload)
              }
            }
            return Option.none()
          })
        }
      }
    }
  )
