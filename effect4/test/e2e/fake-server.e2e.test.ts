/**
 * FakeTmdb for any client in any language: `tmdb-auth fake-server` (the built CLI, a child process) and its control
 * API under /__fake/, driven with fetch, with curl (the script of docs/testing.md), and by two TMDB clients nobody
 * here wrote (moviedb-promise, @lorenzopant/tmdb), unchanged.
 */
import { TMDB } from "@lorenzopant/tmdb"
import { Effect, Exit, Scope } from "effect"
import { MovieDb } from "moviedb-promise"
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { FakeTmdbServer } from "../../src/testing/index.js"
import { FakeTmdb } from "../../src/testing/index.js"

const bin = fileURLToPath(new URL("../../dist/cli/bin.js", import.meta.url))
const repo = fileURLToPath(new URL("../..", import.meta.url))
const TOKEN = FakeTmdb.defaults.accessToken

interface Started {
  readonly child: ChildProcess
  readonly info: {
    readonly url: string
    readonly access_token: string
    readonly api_key: string
    readonly control: string | null
    readonly users: ReadonlyArray<string>
  }
  readonly stderr: () => string
  readonly stop: () => Promise<void>
}

/** `tmdb-auth fake-server --json ...flags`, once it has printed its JSON line. */
const startFake = async (flags: ReadonlyArray<string> = []): Promise<Started> => {
  const child = spawn(process.execPath, [bin, "fake-server", "--json", ...flags], {
    env: { PATH: process.env["PATH"] ?? "" },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let stdout = ""
  let stderr = ""
  child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
  const closed = new Promise<void>((resolve) => child.on("close", () => resolve()))
  for (let i = 0; i < 200 && !stdout.includes("\n") && child.exitCode === null; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  if (!stdout.includes("\n")) throw new Error(`fake-server printed no JSON line: ${stdout}${stderr}`)
  return {
    child,
    info: JSON.parse(stdout.split("\n")[0]!),
    stderr: () => stderr,
    stop: () => {
      child.kill("SIGINT")
      return closed
    }
  }
}

const runCli = (args: ReadonlyArray<string>) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { PATH: process.env["PATH"] ?? "" } })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
    child.on("close", (code) => resolve({ code, stdout, stderr }))
  })

const post = (url: string, body: unknown) =>
  fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })

const tmdb = (base: string, path: string, init: { method?: string; body?: unknown; token?: string } = {}) =>
  fetch(`${base}${path}`, {
    method: init.method ?? "GET",
    headers: { authorization: `Bearer ${init.token ?? TOKEN}`, "content-type": "application/json" },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) })
  })

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON answers of many shapes, checked by the assertions
type Json = any

const json = async (response: Response) => ({ status: response.status, body: await response.json() as Json })

interface Logged {
  readonly method: string
  readonly path: string
  readonly credential: string
  readonly status: number
}

const newToken = async (base: string) =>
  (await json(await tmdb(base, "/3/authentication/token/new"))).body.request_token as string

describe("the curl script of docs/testing.md against tmdb-auth fake-server --json", () => {
  it(
    "approves a token, makes session/new answer 429, reads the sessions, expires a token by the fake's clock",
    async () => {
      // The script and docs/testing.md are the repository's (one fake-server, one curl script for both lines): here
      // the script drives the 1.x line's tmdb-auth.
      const script = join(repo, "../examples/fake-server-control.sh")
      const doc = readFileSync(join(repo, "../docs/testing.md"), "utf8")
      expect(doc).toContain(readFileSync(script, "utf8"))
      const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn("bash", [script], {
          env: { PATH: process.env["PATH"] ?? "", TMDB_AUTH: `${process.execPath} ${bin}` },
          cwd: repo
        })
        let stdout = ""
        let stderr = ""
        child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()))
        child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
        // Never left behind: a script that hangs is stopped before the test's own timeout, with what it printed.
        const deadline = setTimeout(() => child.kill("SIGKILL"), 25_000)
        child.on("close", (code) => {
          clearTimeout(deadline)
          resolve({ code, stdout, stderr })
        })
      })
      expect(result.stderr).toBe("")
      expect(result.stdout.trim().split("\n")).toEqual([
        "ok: session/new is rate limited",
        "ok: session/new creates the session",
        "ok: one session, for demo",
        "ok: the token expired after 61 minutes"
      ])
      expect(result.code).toBe(0)
    },
    30_000
  )
})

describe("the control API of FakeTmdb.serve({ control: true })", () => {
  let scope: Scope.Closeable
  let server: FakeTmdbServer
  let control: string

  beforeAll(async () => {
    scope = await Effect.runPromise(Scope.make())
    server = await Effect.runPromise(
      FakeTmdb.serve({
        control: true,
        users: [{ username: "demo", password: "demo-password" }, { username: "jane", password: "jane-pw" }]
      }).pipe(Scope.provide(scope))
    )
    control = `${server.url}/__fake`
  })
  afterAll(() => Effect.runPromise(Scope.close(scope, Exit.void)))

  it("approves a token as a named user; session/new then makes a session for that user", async () => {
    await post(`${control}/reset`, {})
    const token = await newToken(server.url)
    expect(await json(await post(`${control}/approve`, { request_token: token, username: "jane" }))).toEqual({
      status: 200,
      body: { ok: true }
    })
    const session = await json(
      await tmdb(server.url, "/3/authentication/session/new", {
        method: "POST",
        body: { request_token: token }
      })
    )
    expect(session.status).toBe(200)
    expect((await json(await fetch(`${control}/sessions`))).body).toEqual([
      { username: "jane", created_at: expect.any(String) }
    ])
    const account = await json(await tmdb(server.url, `/3/account?session_id=${session.body.session_id}`))
    expect(account.body.username).toBe("jane")
  })

  it("refuses with JSON errors that say what is wrong: unknown token or user, bad body, unknown route", async () => {
    const unknown = await json(await post(`${control}/approve`, { request_token: "never-issued" }))
    expect(unknown).toMatchObject({ status: 404, body: { error: "UnknownRequestToken", message: expect.any(String) } })
    const token = await newToken(server.url)
    const noUser = await json(await post(`${control}/approve`, { request_token: token, username: "nobody" }))
    expect(noUser).toMatchObject({ status: 404, body: { error: "UnknownUser" } })
    expect(noUser.body.message).toContain("nobody")
    const backwards = await json(await post(`${control}/clock`, { advance: "-5 minutes" }))
    expect(backwards).toMatchObject({ status: 400, body: { error: "InvalidBody" } })
    expect(backwards.body.message).toContain("only moves forward")
    const bad = await json(await post(`${control}/clock`, { advance: 61 }))
    expect(bad).toMatchObject({ status: 400, body: { error: "InvalidBody" } })
    expect(bad.body.message).toContain("\"61 minutes\"")
    const notJson = await json(await fetch(`${control}/faults`, { method: "POST", body: "{route" }))
    expect(notJson).toMatchObject({ status: 400, body: { error: "InvalidBody" } })
    const route = await json(await fetch(`${control}/nope`))
    expect(route).toMatchObject({ status: 404, body: { error: "NotFound" } })
    expect(route.body.message).toContain("POST /__fake/approve")
  })

  it("deny: session/new answers 17 and the token can no longer be approved", async () => {
    const token = await newToken(server.url)
    expect((await post(`${control}/deny`, { request_token: token })).status).toBe(200)
    const denied = await json(
      await tmdb(server.url, "/3/authentication/session/new", {
        method: "POST",
        body: { request_token: token }
      })
    )
    expect([denied.status, denied.body.status_code]).toEqual([401, 17])
    expect((await json(await post(`${control}/approve`, { request_token: token }))).body.error).toBe("AlreadyDecided")
  })

  it("users and v4-access-tokens add an account and a v4 token convert/4 accepts", async () => {
    expect((await post(`${control}/users`, { username: "new", password: "new-pw", status: "unverified" })).status)
      .toBe(200)
    const token = await newToken(server.url)
    const login = await json(
      await tmdb(server.url, "/3/authentication/token/validate_with_login", {
        method: "POST",
        body: { username: "new", password: "new-pw", request_token: token }
      })
    )
    expect(login.body.status_code).toBe(32)
    expect((await post(`${control}/v4-access-tokens`, { access_token: "eyJ.v4-of-jane", username: "jane" })).status)
      .toBe(200)
    const converted = await json(
      await tmdb(server.url, "/3/authentication/session/convert/4", {
        method: "POST",
        body: { access_token: "eyJ.v4-of-jane" }
      })
    )
    expect(converted.status).toBe(200)
    expect((await json(await fetch(`${control}/v4-access-tokens`))).body).toContainEqual({
      username: "jane",
      account_id: expect.any(String)
    })
    const unknown = await json(await post(`${control}/v4-access-tokens`, { access_token: "x", username: "nobody" }))
    expect(unknown.body.error).toBe("UnknownUser")
  })

  it("faults: scripted per route in order, \"*\" for any, a seeded random mix that repeats from its seed, and off", async () => {
    await post(`${control}/reset`, {})
    expect(
      (await post(`${control}/faults`, {
        route: "GET /3/authentication",
        faults: [{ _tag: "Unavailable" }, { _tag: "InternalError" }]
      })).status
    ).toBe(200)
    await post(`${control}/faults`, { route: "*", faults: [{ _tag: "RateLimited", retryAfter: 7 }] })
    const statuses = []
    for (let i = 0; i < 2; i++) statuses.push((await tmdb(server.url, "/3/authentication")).status)
    const limited = await tmdb(server.url, "/3/authentication")
    expect(limited.headers.get("retry-after")).toBe("7")
    statuses.push(limited.status)
    // The route's own faults first, then the one for any route.
    expect(statuses).toEqual([503, 500, 429])
    expect((await tmdb(server.url, "/3/authentication/token/new")).status).toBe(200)

    const mix = async () => {
      await post(`${control}/faults`, { random: { seed: 7, rateLimited: 0.3, unavailable: 0.3 } })
      const seen = []
      for (let i = 0; i < 12; i++) seen.push((await tmdb(server.url, "/3/authentication")).status)
      return seen
    }
    const first = await mix()
    expect(first).toContain(200)
    expect(first.some((status) => status !== 200)).toBe(true)
    expect(await mix()).toEqual(first)
    expect((await fetch(`${control}/faults`, { method: "DELETE" })).status).toBe(200)
    for (let i = 0; i < 5; i++) expect((await tmdb(server.url, "/3/authentication")).status).toBe(200)
  })

  it("clock moves token expiry and guest expiry; reset brings the clock back", async () => {
    await post(`${control}/reset`, {})
    const token = await newToken(server.url)
    await post(`${control}/approve`, { request_token: token })
    const guest = await json(await tmdb(server.url, "/3/authentication/guest_session/new"))
    expect(guest.status).toBe(200)
    const moved = await json(await post(`${control}/clock`, { advance: "25 hours" }))
    expect(moved.body).toMatchObject({ ok: true, offset_ms: 25 * 3600 * 1000 })
    expect((await json(await fetch(`${control}/guest-sessions`))).body).toEqual([])
    const expired = await json(
      await tmdb(server.url, "/3/authentication/session/new", {
        method: "POST",
        body: { request_token: token }
      })
    )
    expect(expired.body.status_code).toBe(33)
    await post(`${control}/reset`, {})
    expect((await json(await fetch(`${control}/clock`))).body.offset_ms).toBe(0)
  })

  it("requests, counters and sessions never show a secret value, even for the legacy GET login", async () => {
    await post(`${control}/reset`, {})
    const token = await newToken(server.url)
    const query = new URLSearchParams({ username: "jane", password: "jane-pw", request_token: token })
    const login = await json(await tmdb(server.url, `/3/authentication/token/validate_with_login?${query}`))
    expect(login.status).toBe(200)
    const session = await json(await tmdb(server.url, `/3/authentication/session/new?request_token=${token}`))
    expect(session.status).toBe(200)
    const text = await Promise.all(
      ["requests", "counters", "sessions"].map((path) => fetch(`${control}/${path}`).then((r) => r.text()))
    ).then((texts) => texts.join("\n"))
    for (const secret of ["jane-pw", token, session.body.session_id, TOKEN]) expect(text).not.toContain(secret)
    expect(JSON.parse(text.split("\n")[0]!).map((r: Logged) => `${r.method} ${r.path} ${r.status}`)).toEqual([
      "GET /3/authentication/token/new 200",
      "GET /3/authentication/token/validate_with_login 200",
      "GET /3/authentication/session/new 200"
    ])
  })

  it("is off by default: /__fake/ is then an unknown TMDB path (404, code 34)", async () => {
    const plain = await Effect.runPromise(
      Effect.scoped(
        Effect.flatMap(
          FakeTmdb.serve(),
          (fake) => Effect.promise(async () => json(await post(`${fake.url}/__fake/reset`, {})))
        )
      )
    )
    expect([plain.status, plain.body.status_code]).toEqual([404, 34])
  })
})

describe("tmdb-auth fake-server flags", () => {
  it(
    "--access-token and --api-key set the credentials it accepts; --json prints them with the control base",
    async () => {
      const fake = await startFake(["--access-token", "eyJ.my-token", "--api-key", "my-key"])
      try {
        expect(fake.info).toMatchObject({
          access_token: "eyJ.my-token",
          api_key: "my-key",
          control: `${fake.info.url}/__fake`,
          users: ["demo"]
        })
        expect((await tmdb(fake.info.url, "/3/authentication", { token: "eyJ.my-token" })).status).toBe(200)
        expect((await tmdb(fake.info.url, "/3/authentication")).status).toBe(401)
        expect((await fetch(`${fake.info.url}/3/authentication?api_key=my-key`)).status).toBe(200)
      } finally {
        await fake.stop()
      }
    },
    30_000
  )

  it(
    "--interactive-approval: the approval page names the app and asks; Approve redirects with approved=true",
    async () => {
      const fake = await startFake(["--interactive-approval"])
      try {
        const token = (await (await tmdb(fake.info.url, "/3/authentication/token/new")).json()).request_token as string
        const redirectTo = "https://app.example.test/auth/tmdb/callback"
        const page = await fetch(
          `${fake.info.url}/authenticate/${token}?redirect_to=${encodeURIComponent(redirectTo)}`,
          { redirect: "manual" }
        )
        expect(page.status).toBe(200)
        const html = await page.text()
        expect(html).toContain(`<span id="app">https://app.example.test</span> wants to sign you in`)
        expect(html).toContain(`id="approve"`)
        expect(html).toContain(`id="deny"`)
        const approved = await fetch(`${fake.info.url}/authenticate/${token}/allow`, {
          method: "POST",
          redirect: "manual",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ username: "demo", redirect_to: redirectTo }).toString()
        })
        expect(approved.status).toBe(302)
        expect(new URL(approved.headers.get("location")!).searchParams.get("approved")).toBe("true")
      } finally {
        await fake.stop()
      }
      // Without the flag, the page approves at once.
      const plain = await startFake()
      try {
        const token = (await (await tmdb(plain.info.url, "/3/authentication/token/new")).json()).request_token as string
        const page = await fetch(`${plain.info.url}/authenticate/${token}?redirect_to=https%3A%2F%2Fa.test%2F`, {
          redirect: "manual"
        })
        expect(page.status).toBe(302)
      } finally {
        await plain.stop()
      }
    },
    30_000
  )

  it("--v4-access-tokens, --token-ttl and --guest-ttl", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fake-server-"))
    writeFileSync(join(dir, "v4.json"), JSON.stringify([{ access_token: "eyJ.v4", username: "demo" }]))
    const fake = await startFake([
      "--v4-access-tokens",
      join(dir, "v4.json"),
      "--token-ttl",
      "90",
      "--guest-ttl",
      "2 hours"
    ])
    try {
      const created = await json(await tmdb(fake.info.url, "/3/authentication/token/new"))
      const { now } = (await json(await fetch(`${fake.info.control}/clock`))).body
      const lifetime = Date.parse(created.body.expires_at.replace(" UTC", "Z")) - Date.parse(now)
      expect(lifetime).toBeGreaterThan(85_000)
      expect(lifetime).toBeLessThanOrEqual(90_000)
      const guest = await json(await tmdb(fake.info.url, "/3/authentication/guest_session/new"))
      const guestLifetime = Date.parse(guest.body.expires_at.replace(" UTC", "Z")) - Date.parse(now)
      expect(Math.round(guestLifetime / 60_000)).toBe(120)
      const converted = await tmdb(fake.info.url, "/3/authentication/session/convert/4", {
        method: "POST",
        body: { access_token: "eyJ.v4" }
      })
      expect(converted.status).toBe(200)
    } finally {
      await fake.stop()
    }
  }, 30_000)

  it("--rate-limit 0 is no limit; --rate-limit 3 answers 429 with a whole Retry-After", async () => {
    const off = await startFake(["--rate-limit", "0"])
    try {
      const statuses = await Promise.all(Array.from({ length: 20 }, () => tmdb(off.info.url, "/3/authentication")))
      expect(statuses.map((r) => r.status)).toEqual(Array(20).fill(200))
    } finally {
      await off.stop()
    }
    const on = await startFake(["--rate-limit", "3"])
    try {
      const answers = await Promise.all(Array.from({ length: 6 }, () => tmdb(on.info.url, "/3/authentication")))
      const limited = answers.filter((r) => r.status === 429)
      expect(limited.length).toBeGreaterThan(0)
      for (const answer of limited) expect(answer.headers.get("retry-after")).toMatch(/^[1-9]\d*$/)
    } finally {
      await on.stop()
    }
  }, 30_000)

  it("a negative --rate-limit, a bad --faults or --token-ttl is a usage error (exit 2) naming the flag", async () => {
    for (
      const [flags, phrase] of [
        [["--rate-limit", "-1"], "--rate-limit must be 0 (no limit) or a positive number"],
        [["--faults", "seven"], "--faults is \"seven\": use SEED:RATE"],
        [["--faults", "7:boom=0.1"], "unknown kind \"boom\""],
        [["--token-ttl", "soon"], "--token-ttl must be a positive duration"],
        [["--port", "99999"], "--port must be from 0 (a free port) to 65535"]
      ] as const
    ) {
      const result = await runCli(["fake-server", ...flags])
      expect(result.code).toBe(2)
      expect(result.stderr).toContain(phrase)
    }
  }, 30_000)

  it("--faults SEED:RATE injects seeded random faults", async () => {
    const fake = await startFake(["--faults", "3:0.5"])
    try {
      const statuses = []
      for (let i = 0; i < 30; i++) {
        statuses.push(await tmdb(fake.info.url, "/3/authentication").then((r) => r.status, () => 0))
      }
      expect(statuses.filter((status) => status === 200).length).toBeGreaterThan(5)
      expect(statuses.filter((status) => status !== 200).length).toBeGreaterThan(5)
    } finally {
      await fake.stop()
    }
  }, 30_000)

  it("--no-control turns the control API off; --verbose prints each request on one line, never a secret", async () => {
    const off = await startFake(["--no-control"])
    try {
      expect(off.info.control).toBeNull()
      expect((await post(`${off.info.url}/__fake/reset`, {})).status).toBe(404)
    } finally {
      await off.stop()
    }
    const verbose = await startFake(["--verbose"])
    try {
      const token = await newToken(verbose.info.url)
      const query = new URLSearchParams({ username: "demo", password: "demo-password", request_token: token })
      await tmdb(verbose.info.url, `/3/authentication/token/validate_with_login?${query}`)
      await post(`${verbose.info.control}/approve`, { request_token: token })
      await new Promise((resolve) => setTimeout(resolve, 200))
      const lines = verbose.stderr().trim().split("\n")
      expect(lines).toEqual([
        expect.stringMatching(/^\d\d:\d\d:\d\d\.\d{3} GET \/3\/authentication\/token\/new 200 \[bearer\]$/),
        expect.stringMatching(/ GET \/3\/authentication\/token\/validate_with_login 200 \[bearer\]$/),
        expect.stringMatching(/ POST \/__fake\/approve 200$/)
      ])
      for (const secret of ["demo-password", token, TOKEN]) expect(verbose.stderr()).not.toContain(secret)
    } finally {
      await verbose.stop()
    }
  }, 30_000)
})

/** Runs `f` with fetch pointed at the fake: @lorenzopant/tmdb has TMDB's base URL hard-coded. */
const withFetchTo = async <A>(url: string, f: () => Promise<A>): Promise<A> => {
  const original = globalThis.fetch
  globalThis.fetch = ((input: string | URL | Request, init?: RequestInit) => {
    const target = new URL(typeof input === "string" || input instanceof URL ? input : input.url)
    if (target.origin !== "https://api.themoviedb.org") return original(input, init)
    return original(`${url}${target.pathname}${target.search}`, init)
  }) as typeof fetch
  try {
    return await f()
  } finally {
    globalThis.fetch = original
  }
}

describe("peer clients, unchanged, against tmdb-auth fake-server", () => {
  let fake: Started
  beforeAll(async () => {
    fake = await startFake()
  }, 30_000)
  afterAll(() => fake.stop())

  it(
    "moviedb-promise: request token, approval through /__fake/approve, its GET session/new, account, as against TMDB",
    async () => {
      await post(`${fake.info.control}/reset`, {})
      const moviedb = new MovieDb(fake.info.api_key, `${fake.info.url}/3/`)
      const token = await moviedb.requestToken()
      expect(token).toMatchObject({ success: true, request_token: expect.stringMatching(/^[0-9a-f]{40}$/) })
      // Not approved yet: TMDB answers 401, code 17.
      await expect(moviedb.retrieveSession()).rejects.toMatchObject({
        response: { status: 401, data: { status_code: 17 } }
      })
      expect((await post(`${fake.info.control}/approve`, { request_token: token.request_token })).status).toBe(200)
      const sessionId = await moviedb.retrieveSession()
      expect(sessionId).toMatch(/^[0-9a-f]{40}$/)
      const account = await moviedb.accountInfo()
      expect(account).toMatchObject({ username: "demo", id: expect.any(Number) })
      const sessions = (await json(await fetch(`${fake.info.control}/sessions`))).body
      expect(sessions).toEqual([{ username: "demo", created_at: expect.any(String) }])
      const log = (await json(await fetch(`${fake.info.control}/requests`))).body.map((r: Logged) =>
        `${r.method} ${r.path} ${r.credential} ${r.status}`
      )
      expect(log).toEqual([
        "GET /3/authentication/token/new api_key 200",
        "GET /3/authentication/session/new api_key 401",
        "GET /3/authentication/session/new api_key 200",
        "GET /3/account api_key 200"
      ])
    },
    30_000
  )

  it("moviedb-promise's token after 61 minutes of the fake's clock: session/new refuses it with 33", async () => {
    await post(`${fake.info.control}/reset`, {})
    const moviedb = new MovieDb(fake.info.api_key, `${fake.info.url}/3/`)
    const token = await moviedb.requestToken()
    await post(`${fake.info.control}/approve`, { request_token: token.request_token })
    await post(`${fake.info.control}/clock`, { advance: "61 minutes" })
    await expect(moviedb.retrieveSession()).rejects.toMatchObject({
      response: { status: 401, data: { status_code: 33 } }
    })
  }, 30_000)

  it("@lorenzopant/tmdb: login with password, session, delete, guest; a scripted 429 surfaces as TMDB's", async () => {
    await post(`${fake.info.control}/reset`, {})
    const result = await withFetchTo(fake.info.url, async () => {
      const client = new TMDB(fake.info.access_token)
      const token = await client.authentication.create_request_token()
      const approved = await client.authentication.create_session_with_login({
        username: "demo",
        password: "demo-password",
        request_token: token.request_token
      })
      const session = await client.authentication.create_session({ request_token: approved.request_token })
      const live = (await json(await fetch(`${fake.info.control}/sessions`))).body
      const deleted = await client.authentication.delete_session({ session_id: session.session_id })
      const after = (await json(await fetch(`${fake.info.control}/sessions`))).body
      await post(`${fake.info.control}/faults`, {
        route: "GET /3/authentication/guest_session/new",
        faults: [{ _tag: "RateLimited", retryAfter: 1 }]
      })
      const limited = await client.authentication.create_guest_session().then(() => "succeeded", (e: unknown) => e)
      const guest = await client.authentication.create_guest_session()
      return { session, live, deleted, after, limited, guest }
    })
    expect(result.session).toMatchObject({ success: true })
    expect(result.live).toEqual([{ username: "demo", created_at: expect.any(String) }])
    expect(result.deleted).toMatchObject({ success: true })
    expect(result.after).toEqual([])
    expect(result.limited).toMatchObject({ http_status_code: 429, tmdb_status_code: 25 })
    expect(result.guest).toMatchObject({ success: true, guest_session_id: expect.stringMatching(/^[0-9a-f]{32}$/) })
  }, 30_000)
})
