/**
 * The web login's keys: one key per purpose, derived from the app's signing key(s) with HKDF-SHA-256 and a label, so
 * that a value signed for one purpose (the login binding) never verifies as another (the session cookie). Signatures
 * are HMAC-SHA-256 in canonical base64url (no other spelling of the same bytes verifies). The first signing key signs;
 * every key of the list verifies, so keys rotate without signing everyone out. The cryptography itself is
 * core/webCrypto.ts (Web Crypto: a global in Node and browsers); here, its effects.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { aesKey, hmacKey, type Purpose, sign, verify } from "../../../core/webCrypto.js"

export type { Purpose } from "../../../core/webCrypto.js"
export { weakKeyMessage, weakKeyReason } from "../../../core/webCrypto.js"

/** The AES-GCM key of a purpose (at-rest encryption), one per signing key, the first being the current one. */
export const deriveAesKeys = (
  secrets: ReadonlyArray<Redacted.Redacted<string>>,
  purpose: Purpose
): Effect.Effect<ReadonlyArray<CryptoKey>> =>
  Effect.forEach(secrets, (secret) => Effect.promise(() => aesKey(Redacted.value(secret), purpose)))

/** Signs and verifies values for one purpose. */
export interface Signer {
  /** `payload.signature`, the signature in base64url, with the current (first) key. */
  readonly sign: (payload: string) => Effect.Effect<string>
  /** The payload of a value `sign` made with any of the keys, or None (tampered, another key or purpose, malformed). */
  readonly verify: (signed: string) => Effect.Effect<Option.Option<string>>
}

/** A signer for `purpose`, from the signing keys (the first signs, all verify). */
export const makeSigner = (
  secrets: readonly [Redacted.Redacted<string>, ...Array<Redacted.Redacted<string>>],
  purpose: Purpose
): Effect.Effect<Signer> =>
  Effect.map(
    Effect.forEach(secrets, (secret) => Effect.promise(() => hmacKey(Redacted.value(secret), purpose))),
    (keys): Signer => ({
      sign: (payload) => Effect.promise(() => sign(keys[0]!, payload)),
      verify: (signed) => Effect.map(Effect.promise(() => verify(keys, signed)), Option.fromNullishOr)
    })
  )
