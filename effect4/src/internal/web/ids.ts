/**
 * Ids of the web login: random opaque ids, their SHA-256 (the store's keys), and a constant-time comparison
 * (core/webCrypto.ts: Web Crypto, so nothing here loads node:crypto).
 */
import * as Effect from "effect/Effect"
import { sha256Hex } from "../../../core/webCrypto.js"

export { constantTimeEqual, randomId } from "../../../core/webCrypto.js"

/** SHA-256 of a text, in hex. */
export const sha256 = (text: string): Effect.Effect<string> => Effect.promise(() => sha256Hex(text))
