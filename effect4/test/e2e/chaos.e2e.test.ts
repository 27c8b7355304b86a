/**
 * A small run of `npm run chaos` (bench/chaos.ts) in the suite: seeded faults over real sockets, every mix (faults;
 * plus random 429s; plus a rate limit the client is not told), both credential modes; the script exits non-zero on
 * any defect, call past its bound, orphan session, reused token or leaked secret. (Login success is checked from 200
 * calls per mix and mode: the full run, RELIABILITY.md.)
 */
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const script = fileURLToPath(new URL("../../bench/chaos.ts", import.meta.url))

describe("npm run chaos, small", () => {
  it("60 flows per mix and mode: no defect, no orphan session, no secret, nothing past the bound", async () => {
    const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = execFile(process.execPath, ["--import", "tsx", script, "60", "20"], { timeout: 170_000 })
      let stdout = ""
      child.stdout?.on("data", (chunk) => (stdout += chunk))
      child.stderr?.on("data", (chunk) => (stdout += chunk))
      child.on("close", (code) => resolve({ code, stdout }))
    })
    expect(stdout, stdout).toMatch(/^OK: 0 violations/m)
    expect(stdout.match(/orphan sessions: 0 /g)).toHaveLength(6)
    expect(code).toBe(0)
  }, 180_000)
})
