/**
 * `npm run example:web` as a process: LOGIN_RATE_LIMIT sets its sign-ins a minute per client (default 60 there).
 */
import { describe, expect, it } from "vitest"
import { startExampleApp } from "../support/exampleApp.js"

describe("the example web app", () => {
  it("LOGIN_RATE_LIMIT=2: the third sign-in from one client within a minute gets 429 with Retry-After", async () => {
    const app = await startExampleApp({ LOGIN_RATE_LIMIT: "2" })
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
