import { describe, expect, it } from "vitest"
import {
  aesKey,
  base64UrlDecode,
  base64UrlEncode,
  constantTimeEqual,
  hmacKey,
  seal,
  sha256Hex,
  sign,
  unseal,
  verify,
  weakKeyReason
} from "../webCrypto.js"

const secret = "k3Jx9-Qw2mZr8Lp4Vt7Yb1Nc6Hd0Fg5S"

describe("webCrypto", () => {
  it("base64url round-trips any bytes, without padding; garbage is refused", () => {
    const bytes = Uint8Array.from({ length: 257 }, (_, i) => (i * 37) % 256)
    const text = base64UrlEncode(bytes)
    expect(text).not.toMatch(/[+/=]/)
    expect(base64UrlDecode(text)).toEqual(bytes)
    expect(base64UrlDecode("not base64!")).toBeUndefined()
    expect(base64UrlDecode("a")).toBeUndefined()
  })

  it("signs with the first key; verifies with any key of the list; not for another purpose; only the canonical spelling", async () => {
    const current = await hmacKey(secret, "session-cookie")
    const previous = await hmacKey(`${secret}-old`, "session-cookie")
    const signedBefore = await sign(previous, "payload")
    const signed = await sign(current, "payload")
    expect(await verify([current, previous], signed)).toBe("payload")
    expect(await verify([current, previous], signedBefore)).toBe("payload")
    expect(await verify([await hmacKey(secret, "login-binding")], signed)).toBeUndefined()
    expect(await verify([current], `${signed.slice(0, -1)}${signed.endsWith("A") ? "B" : "A"}`)).toBeUndefined()
    expect(await verify([current], `${signed}=`)).toBeUndefined()
    expect(await verify([current], "no-signature")).toBeUndefined()
  })

  it("seals at rest bound to its additional data; another key or other data opens nothing", async () => {
    const key = await aesKey(secret, "at-rest")
    const sealed = await seal(key, "entry-hash", "the session id")
    expect(sealed).not.toContain("the session id")
    expect(await unseal([key], "entry-hash", sealed)).toBe("the session id")
    expect(await unseal([key], "other-hash", sealed)).toBeUndefined()
    expect(await unseal([await aesKey(`${secret}-other`, "at-rest")], "entry-hash", sealed)).toBeUndefined()
    expect(await unseal([key], "entry-hash", "short")).toBeUndefined()
  })

  it("hashes, compares in constant time, and refuses weak signing keys with the reason", async () => {
    expect(await sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    expect(constantTimeEqual("abc", "abc")).toBe(true)
    expect(constantTimeEqual("abc", "abd")).toBe(false)
    expect(weakKeyReason("short")).toBe("it is shorter than 32 characters")
    expect(weakKeyReason("a".repeat(40))).toBe("it is one repeated character")
    expect(weakKeyReason("abcdefgh".repeat(5))).toBe("it repeats a pattern of 8 characters")
    expect(weakKeyReason(secret)).toBeUndefined()
  })
})
