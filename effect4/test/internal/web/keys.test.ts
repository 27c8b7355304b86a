import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Redacted } from "effect"
import { makeSigner, weakKeyReason } from "../../../src/internal/web/keys.js"
import { boundTo, makeBinding, MAX_RETURN_TO, safeReturnTo } from "../../../src/internal/web/loginBinding.js"

const KEY = Redacted.make("0123456789abcdef0123456789abcdef-test-key")
const OLD = Redacted.make("an older key, still accepted: 8f2c91d0a7b3e645")

describe("web login keys", () => {
  it.effect("a signature has one spelling: another last character or a trailing = does not verify", () =>
    Effect.gen(function*() {
      const signer = yield* makeSigner([KEY], "session-cookie")
      const signed = yield* signer.sign("payload")
      expect(yield* signer.verify(signed)).toEqual(Option.some("payload"))
      const mac = signed.slice(signed.indexOf(".") + 1)
      expect(mac).toHaveLength(43)
      // The last character carries 4 bits and 2 unused ones: its 3 neighbours decode to the same bytes leniently.
      const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
      const last = alphabet.indexOf(mac.at(-1)!)
      for (let i = 1; i < 4; i++) {
        const variant = `${signed.slice(0, -1)}${alphabet[last + i]}`
        expect(yield* signer.verify(variant)).toEqual(Option.none())
      }
      expect(yield* signer.verify(`${signed}=`)).toEqual(Option.none())
      expect(yield* signer.verify(`${signed.slice(0, -2)}AA`)).toEqual(Option.none())
    }))

  it.effect("a value signed for one purpose does not verify for another", () =>
    Effect.gen(function*() {
      const binding = yield* makeSigner([KEY], "login-binding")
      const cookie = yield* makeSigner([KEY], "session-cookie")
      const signed = yield* binding.sign("same payload")
      expect(yield* binding.verify(signed)).toEqual(Option.some("same payload"))
      expect(yield* cookie.verify(signed)).toEqual(Option.none())
    }))

  it.effect("key rotation: the first key signs, every key of the list verifies; a removed key no longer does", () =>
    Effect.gen(function*() {
      const before = yield* makeSigner([OLD], "session-cookie")
      const rotated = yield* makeSigner([KEY, OLD], "session-cookie")
      const after = yield* makeSigner([KEY], "session-cookie")
      const old = yield* before.sign("id")
      expect(yield* rotated.verify(old)).toEqual(Option.some("id"))
      expect(yield* after.verify(old)).toEqual(Option.none())
      const fresh = yield* rotated.sign("id")
      expect(yield* after.verify(fresh)).toEqual(Option.some("id"))
      expect(yield* before.verify(fresh)).toEqual(Option.none())
    }))

  it("weak keys are refused: short, all whitespace, one repeated character, fewer than 8 distinct characters", () => {
    expect(weakKeyReason("a".repeat(31))).toContain("shorter than 32")
    expect(weakKeyReason(" ".repeat(32))).toContain("whitespace")
    expect(weakKeyReason("a".repeat(32))).toContain("one repeated character")
    expect(weakKeyReason("abcdefg".repeat(5))).toContain("7 distinct")
    expect(weakKeyReason("abcdefgh".repeat(4))).toContain("repeats a pattern of 8")
    expect(weakKeyReason("password-password-password-passw")).toContain("repeats a pattern of 9")
    expect(weakKeyReason("q3V9xL0pZk2mN8rT5wY7aB1cD4eF6gH0")).toBeUndefined()
  })
})

describe("web login binding", () => {
  const origin = "https://app.example"

  it("returnTo keeps same-origin paths; other origins, //host forms, and anything over 1 KB become /", () => {
    expect(safeReturnTo(origin, "/movies?page=2#top")).toBe("/movies?page=2#top")
    for (
      const returnTo of [
        "https://evil.example/",
        "//evil.example",
        "/.//evil.example",
        "/./..//evil.example/x",
        "/a/../..//evil.example",
        "/\\evil.example",
        "/\tevil",
        "evil",
        `/${"a".repeat(MAX_RETURN_TO)}`,
        // Short, but over 1 KB once normalising percent-encodes it.
        `/${"<".repeat(400)}`,
        `/${"\u3000".repeat(200)}`
      ]
    ) {
      expect(safeReturnTo(origin, returnTo), returnTo).toBe("/")
    }
    expect(safeReturnTo(origin, `/${"a".repeat(MAX_RETURN_TO - 1)}`)).toHaveLength(MAX_RETURN_TO)
  })

  it.effect("the binding verifies for its request token only, and not with another purpose's key", () =>
    Effect.gen(function*() {
      const signer = yield* makeSigner([KEY], "login-binding")
      const value = yield* makeBinding(signer, "token-a", "/back", 60_000)
      expect(yield* boundTo(signer, value, "token-a")).toEqual(Option.some("/back"))
      expect(yield* boundTo(signer, value, "token-b")).toEqual(Option.none())
      const other = yield* makeSigner([KEY], "session-cookie")
      expect(yield* boundTo(other, value, "token-a")).toEqual(Option.none())
    }))
})

describe("the login rate limit's client key", () => {
  const request = (address: string | undefined) =>
    ({ remoteAddress: address === undefined ? Option.none() : Option.some(address) }) as never

  it("IPv4 as it is (also mapped into IPv6); IPv6 grouped by its /64", async () => {
    const { clientAddressKey } = await import("../../../src/internal/web/options.js")
    expect(clientAddressKey(request("203.0.113.7"))).toBe("203.0.113.7")
    expect(clientAddressKey(request("::ffff:203.0.113.7"))).toBe("203.0.113.7")
    expect(clientAddressKey(request("2001:db8:0:1:a:b:c:d"))).toBe("2001:db8:0:1::/64")
    expect(clientAddressKey(request("2001:db8:0:1::2"))).toBe("2001:db8:0:1::/64")
    expect(clientAddressKey(request("2001:DB8::1"))).toBe("2001:db8:0:0::/64")
    expect(clientAddressKey(request("::1"))).toBe("0:0:0:0::/64")
    expect(clientAddressKey(request(undefined))).toBe("unknown")
  })
})
