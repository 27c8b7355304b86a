/**
 * The web login's cryptography, on Web Crypto (a global in Node and browsers): keys derived per purpose from the app's
 * signing key(s) with HKDF-SHA-256 and a label, so that a value signed for one purpose (the login binding) never
 * verifies as another (the session cookie); HMAC-SHA-256 signatures in canonical base64url; AES-GCM at rest; random
 * ids, their SHA-256 and a constant-time comparison. Promises here; each line wraps them in its effects.
 */

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** What a derived key is for; the label is part of the derivation. */
export type Purpose = "login-binding" | "session-cookie" | "at-rest"

const label = (purpose: Purpose) => encoder.encode(`effect-tmdb-auth/web ${purpose} v1`)
const SALT = encoder.encode("effect-tmdb-auth/web")

/** Bytes in base64url, without padding. */
export const base64UrlEncode = (bytes: Uint8Array): string => {
  let binary = ""
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")
}

/** base64url (padding optional) as bytes, or undefined when it is not base64url. */
export const base64UrlDecode = (text: string): Uint8Array<ArrayBuffer> | undefined => {
  if (!/^[A-Za-z0-9_-]*={0,2}$/.test(text) || text.replace(/=+$/, "").length % 4 === 1) return undefined
  const plain = text.replace(/=+$/, "").replace(/-/g, "+").replace(/_/g, "/")
  try {
    const binary = atob(plain + "=".repeat((4 - (plain.length % 4)) % 4))
    return Uint8Array.from(binary, (c) => c.charCodeAt(0))
  } catch {
    return undefined
  }
}

const hexDigits = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"))

/** SHA-256 of a text, in hex. */
export const sha256Hex = async (text: string): Promise<string> => {
  const digest = new Uint8Array(await globalThis.crypto.subtle.digest("SHA-256", encoder.encode(text)))
  let hex = ""
  for (const byte of digest) hex += hexDigits[byte]
  return hex
}

/** 32 random bytes in base64url: an opaque, unguessable id. */
export const randomId = (): string => {
  const bytes = new Uint8Array(32)
  globalThis.crypto.getRandomValues(bytes)
  return base64UrlEncode(bytes)
}

/** Equal texts, compared in time that does not depend on where they differ. */
export const constantTimeEqual = (a: string, b: string): boolean => {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i)
  return diff === 0
}

/**
 * Why a signing key is refused, or undefined when it is usable: at least 32 characters, not all whitespace, at least
 * 8 distinct characters (which also refuses one repeated character), no short repeated pattern.
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

/** The key of `purpose` derived from `secret` (HKDF-SHA-256, the purpose's label as info). */
export const deriveKey = async (
  secret: string,
  purpose: Purpose,
  algorithm: HmacKeyGenParams | AesKeyGenParams,
  usages: ReadonlyArray<KeyUsage>
): Promise<CryptoKey> => {
  const base = await globalThis.crypto.subtle.importKey("raw", encoder.encode(secret), "HKDF", false, ["deriveKey"])
  return globalThis.crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: SALT, info: label(purpose) },
    base,
    algorithm,
    false,
    [...usages]
  )
}

export const hmacKey = (secret: string, purpose: Purpose) =>
  deriveKey(secret, purpose, { name: "HMAC", hash: "SHA-256", length: 256 }, ["sign", "verify"])

export const aesKey = (secret: string, purpose: Purpose) =>
  deriveKey(secret, purpose, { name: "AES-GCM", length: 256 }, ["encrypt", "decrypt"])

/** HMAC-SHA-256 of 32 bytes in base64url without padding: 43 characters, the last one of 16. */
const CANONICAL_MAC = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/

/** `payload.signature`, the signature in base64url, with `key`. */
export const sign = async (key: CryptoKey, payload: string): Promise<string> => {
  const mac = await globalThis.crypto.subtle.sign("HMAC", key, encoder.encode(payload))
  return `${payload}.${base64UrlEncode(new Uint8Array(mac))}`
}

/**
 * The payload of a value `sign` made with any of `keys`, or undefined (tampered, another key or purpose, malformed).
 * Only the one spelling `sign` produces verifies: no padding, no other last character for the same bytes.
 */
export const verify = async (keys: ReadonlyArray<CryptoKey>, signed: string): Promise<string | undefined> => {
  const dot = signed.lastIndexOf(".")
  if (dot <= 0) return undefined
  const text = signed.slice(dot + 1)
  if (!CANONICAL_MAC.test(text)) return undefined
  const mac = base64UrlDecode(text)
  if (mac === undefined) return undefined
  const payload = signed.slice(0, dot)
  const data = encoder.encode(payload)
  for (const key of keys) {
    if (await globalThis.crypto.subtle.verify("HMAC", key, mac, data)) return payload
  }
  return undefined
}

/** `plain` sealed with AES-GCM under `key`, bound to `additionalData`: base64url of the 12-byte IV and the ciphertext. */
export const seal = async (key: CryptoKey, additionalData: string, plain: string): Promise<string> => {
  const iv = globalThis.crypto.getRandomValues(new Uint8Array(12))
  const sealed = await globalThis.crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: encoder.encode(additionalData) },
    key,
    encoder.encode(plain)
  )
  const bytes = new Uint8Array(12 + sealed.byteLength)
  bytes.set(iv)
  bytes.set(new Uint8Array(sealed), 12)
  return base64UrlEncode(bytes)
}

/** What `seal` sealed under any of `keys` with this `additionalData`, or undefined (another key, tampered, garbage). */
export const unseal = async (
  keys: ReadonlyArray<CryptoKey>,
  additionalData: string,
  sealed: string
): Promise<string | undefined> => {
  const bytes = base64UrlDecode(sealed)
  if (bytes === undefined || bytes.length < 12 + 16) return undefined
  const iv = bytes.slice(0, 12)
  const body = bytes.slice(12)
  for (const key of keys) {
    try {
      const plain = await globalThis.crypto.subtle.decrypt(
        { name: "AES-GCM", iv, additionalData: encoder.encode(additionalData) },
        key,
        body
      )
      return decoder.decode(plain)
    } catch {
      // Another key's entry, or tampered: the next key, else none.
    }
  }
  return undefined
}
