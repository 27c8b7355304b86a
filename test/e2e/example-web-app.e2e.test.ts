/**
 * `npm run example:web` as a process: LOGIN_RATE_LIMIT sets its sign-ins a minute per client (default 60 there).
 */
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const repo = fileURLToPath(new URL("../..", import.meta.url))

const startExample = async (env: Record<string, string>) => {
  const app = spawn(process.execPath, ["--import", "tsx", "examples/web-app.ts"], {
    cwd: repo,
    env: { PATH: process.env["PATH"] ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  app.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()))
  app.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()))
  for (let i = 0; i < 400 && !/Example app: (\S+)/.test(output) && app.exitCode === null; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  const match = /Example app: (\S+)/.exec(output)
  if (match === null) throw new Error(`the example app did not start: ${output}`)
  return {
    url: match[1]!,
    stop: () =>
      new Promise<void>((resolve) => {
        if (app.exitCode !== null) return resolve()
        app.on("close", () => resolve())
        app.kill("SIGINT")
      })
  }
}

describe("the example web app", () => {
  it("LOGIN_RATE_LIMIT=2: the third sign-in from one client within a minute gets 429 with Retry-After", async () => {
    const app = await startExample({ LOGIN_RATE_LIMIT: "2" })
    try {
      const statuses = []
      for (let i = 0; i < 3; i++) {
        statuses.push((await fetch(`${app.url}/auth/tmdb/login`, { redirect: "manual" })).status)
      }
      expect(statuses).toEqual([302, 302, 429])
      const refused = await fetch(`${app.url}/auth/tmdb/login`, { redirect: "manual" })
      expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1)
    } finally {
      await app.stop()
    }
  }, 60_000)
})
