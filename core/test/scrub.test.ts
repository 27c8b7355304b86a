import { describe, expect, it } from "vitest"
import { describeCause, scrub, scrubSecrets } from "../scrub.js"

describe("scrub", () => {
  it("takes URLs and secret query parameters out of platform error text", () => {
    expect(scrub("connect ECONNREFUSED http://127.0.0.1:1/3/x?api_key=k")).toBe("connect ECONNREFUSED <url>")
    expect(scrub("bad session_id=abc&x=1 and api_key=zzz")).toBe("bad session_id=<redacted>&x=1 and api_key=<redacted>")
  })

  it("takes a secret out of a server's words in every form it may be echoed", () => {
    const secret = "p@ss word/\"x\""
    const echoed = [secret, encodeURIComponent(secret), "p%40ss+word%2F%22x%22", JSON.stringify(secret).slice(1, -1)]
    for (const form of echoed) expect(scrubSecrets(`you sent ${form}!`, [secret])).toBe("you sent <redacted>!")
  })

  it("describes an error with its code and its cause, scrubbed", () => {
    const cause = Object.assign(new Error("socket hang up"), { code: "ECONNRESET" })
    const error = new Error("fetch to http://h/x?api_key=k failed", { cause })
    expect(describeCause(error)).toBe("fetch to <url> failed: ECONNRESET socket hang up")
    expect(describeCause(undefined)).toBeUndefined()
  })
})
