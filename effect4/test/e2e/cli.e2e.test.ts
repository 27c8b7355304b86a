/**
 * The built CLI (`dist/cli/bin.js`, built by `pretest`) as a child process, against FakeTmdb.serve on 127.0.0.1.
 */
import { Effect, Exit, Redacted, Scope } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { FakeTmdbServer } from "../../src/testing/index.js"
import { FakeTmdb, Fault } from "../../src/testing/index.js"

const main = fileURLToPath(new URL("../../dist/cli/bin.js", import.meta.url))
const PASSWORD = "s3cret-pa55word-for-tests"
const API_KEY = "0123456789abcdef0123456789abcdef"
const ACCESS_TOKEN = FakeTmdb.defaults.accessToken

interface Run {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/** Everything any CLI run printed, checked for secrets at the end. */
const transcripts: Array<{ readonly args: ReadonlyArray<string>; readonly text: string }> = []

const start = (args: ReadonlyArray<string>, env: Record<string, string> = {}) => {
  const child = spawn(process.execPath, [main, ...args], {
    env: { PATH: process.env["PATH"] ?? "", TMDB_AUTH_NO_BROWSER: "1", ...env },
    stdio: ["pipe", "pipe", "pipe"]
  })
  let stdout = ""
  let stderr = ""
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
  const done = new Promise<Run>((resolve) =>
    child.on("close", (code, signal) => {
      transcripts.push({ args, text: stdout + stderr })
      resolve({ code, signal, stdout, stderr })
    })
  )
  return { child, done, output: () => ({ stdout, stderr }) }
}

const run = (args: ReadonlyArray<string>, input?: string, env?: Record<string, string>): Promise<Run> => {
  const process = start(args, env)
  process.child.stdin!.end(input ?? "")
  return process.done
}

const waitFor = async (child: ChildProcess, read: () => string, pattern: RegExp): Promise<RegExpExecArray> => {
  for (let i = 0; i < 200; i++) {
    const match = pattern.exec(read())
    if (match !== null) return match
    if (child.exitCode !== null) break
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`no ${pattern} in: ${read()}`)
}

/** `login --browser`, once it has printed the approval URL. */
const startBrowserLogin = async () => {
  const login = start(["login", "--browser", ...flags])
  const [url] = await waitFor(login.child, () => login.output().stderr, /http:\/\/127\.0\.0\.1:\d+\/authenticate\/\S+/)
  return { login, url: url! }
}

/** The CLI on a pseudo-terminal (`script`, from util-linux), as a person at a shell runs it. */
const startInTerminal = (args: ReadonlyArray<string>, env: Record<string, string> = {}) => {
  const command = [process.execPath, main, ...args].map((arg) => `'${arg}'`).join(" ")
  const child = spawn("script", ["-qfec", command, "/dev/null"], {
    env: { PATH: process.env["PATH"] ?? "", TMDB_AUTH_NO_BROWSER: "1", ...env },
    stdio: ["pipe", "pipe", "pipe"]
  })
  let screen = ""
  child.stdout.on("data", (chunk: Buffer) => (screen += chunk.toString()))
  const closed = new Promise<number | null>((resolve) => child.on("close", resolve))
  return { child, closed, screen: () => screen }
}

let scope: Scope.Closeable
let server: FakeTmdbServer
let flags: Array<string>

beforeAll(async () => {
  scope = await Effect.runPromise(Scope.make())
  server = await Effect.runPromise(
    FakeTmdb.serve({
      users: [{ username: "jane", password: PASSWORD }, { username: "old", password: PASSWORD, status: "disabled" }],
      apiKeys: [API_KEY]
    }).pipe(Scope.provide(scope))
  )
  flags = ["--base-url", server.url, "--access-token", ACCESS_TOKEN]
})

afterAll(async () => {
  await Effect.runPromise(Scope.close(scope, Exit.void))
  // No secret reached stdout or stderr, in any run (the session ids printed on request are not these secrets).
  for (const { args, text } of transcripts) {
    expect(text, args.join(" ")).not.toContain(PASSWORD)
    expect(text, args.join(" ")).not.toContain(API_KEY)
    // fake-server prints the fake's own public demo credentials for other tools to use: nobody's secrets.
    if (!args.includes("fake-server")) {
      expect(text, args.join(" ")).not.toContain("demo-password")
      expect(text, args.join(" ")).not.toContain(ACCESS_TOKEN)
    }
  }
})

const sessionIds = () => Effect.runPromise(server.sessions).then((s) => s.map((x) => Redacted.value(x.sessionId)))

describe("tmdb-auth demo", () => {
  it("walks the whole story on an embedded fake TMDB and exits 0", async () => {
    const result = await run(["demo"])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/started a fake TMDB on http:\/\/127\.0\.0\.1:\d+/)
    for (
      const line of [
        /✔ validate the application's read access token \(\d+ ms\)/,
        /✔ create a request token \(\d+ ms\): expires at /,
        /approve it at http:\/\/127\.0\.0\.1:\d+\/authenticate\/<request-token>/,
        /✔ validate it with demo's password/,
        /✔ create a session/,
        /✔ create a guest session/,
        /✔ burst ridden out by the retry policy/,
        /✘ log in with a wrong password \(\d+ ms\): InvalidCredentials: TMDB refused the login/,
        /✘ create a session from the expired token \(\d+ ms\): TokenExpired/,
        /✔ delete the session/
      ]
    ) expect(result.stdout).toMatch(line)
    expect(result.stderr).toMatch(/↻ Retrying in 1s: TMDB is rate limiting this client/)
  }, 30_000)
})

describe("tmdb-auth login", () => {
  it("reads the password from stdin and prints the session id", async () => {
    const result = await run(["login", "--username", "jane", ...flags], `${PASSWORD}\n`)
    expect(result.code).toBe(0)
    const sessionId = result.stdout.trim()
    expect(sessionId).toMatch(/^[0-9a-f]{40}$/)
    expect(await sessionIds()).toContain(sessionId)
  }, 20_000)

  it("on a terminal, prompts for the username and for the password without echoing it", async () => {
    const login = startInTerminal(["login", ...flags])
    await waitFor(login.child, login.screen, /TMDB username/)
    login.child.stdin.write("jane\r")
    await waitFor(login.child, login.screen, /TMDB password \(hidden\)/)
    login.child.stdin.write(`${PASSWORD}\r`)
    expect(await login.closed).toBe(0)
    const screen = login.screen()
    transcripts.push({ args: ["login (terminal)"], text: screen })
    expect(screen).toMatch(/[0-9a-f]{40}\r?\n/)
    expect(screen).not.toContain(PASSWORD)
    expect(screen).not.toContain("*".repeat(PASSWORD.length))
  }, 20_000)

  it("Ctrl-C at the password prompt exits 130", async () => {
    const login = startInTerminal(["login", "-u", "jane", ...flags])
    await waitFor(login.child, login.screen, /TMDB password \(hidden\)/)
    login.child.stdin.write("\u0003")
    expect(await login.closed).toBe(130)
    expect(login.screen()).not.toContain("unexpected error")
  }, 20_000)

  it("prints JSON with --json", async () => {
    const result = await run(["login", "-u", "jane", "--json", ...flags], PASSWORD)
    expect(result.code).toBe(0)
    expect(Object.keys(JSON.parse(result.stdout))).toEqual(["session_id"])
  }, 20_000)

  it("a wrong password prints one sentence and exits 3, without a stack trace", async () => {
    const result = await run(["login", "-u", "jane", ...flags], "wrong\n")
    expect(result.code).toBe(3)
    expect(result.stdout).toBe("")
    expect(result.stderr.trim()).toBe("tmdb-auth: TMDB refused the login: the username or password is wrong.")
  }, 20_000)

  it("a disabled account exits 3 with its own sentence", async () => {
    const result = await run(["login", "-u", "old", ...flags], PASSWORD)
    expect(result.code).toBe(3)
    expect(result.stderr).toContain("this account is disabled")
  }, 20_000)

  it(
    "--browser: prints the approval URL, waits for TMDB's redirect on 127.0.0.1, then prints the session id",
    async () => {
      const { login, url } = await startBrowserLogin()
      expect(login.output().stderr).toContain("Waiting for the approval in the browser")
      // The test is the user's browser: open the approval page and follow TMDB's redirect to the callback.
      const page = await fetch(url)
      expect(page.status).toBe(200)
      expect(await page.text()).toContain("Approved")
      const result = await login.done
      expect(result.code).toBe(0)
      expect(result.stdout.trim()).toMatch(/^[0-9a-f]{40}$/)
    },
    20_000
  )

  it("--browser: a declined approval exits 7", async () => {
    const { login, url } = await startBrowserLogin()
    const approval = new URL(url)
    const callback = new URL(approval.searchParams.get("redirect_to")!)
    callback.searchParams.set("request_token", approval.pathname.split("/").pop()!)
    callback.searchParams.set("approved", "false")
    await fetch(callback)
    const result = await login.done
    expect(result.code).toBe(7)
    expect(result.stderr).toContain("not approved")
  }, 20_000)

  it("--browser: no approval before --timeout exits 8 with a clear message", async () => {
    const result = await run(["login", "--browser", "--timeout", "1", ...flags])
    expect(result.code).toBe(8)
    expect(result.stderr).toContain("The request token was not approved within 1s")
  }, 20_000)
})

describe("tmdb-auth guest, logout, validate-key", () => {
  it("guest prints a guest session id", async () => {
    const result = await run(["guest", ...flags])
    expect(result.code).toBe(0)
    expect(result.stdout.trim()).toMatch(/^[0-9a-f]{32}$/)
  }, 20_000)

  it("logout deletes the session read from stdin, and exits 9 for an unknown one", async () => {
    const login = await run(["login", "-u", "jane", ...flags], PASSWORD)
    const sessionId = login.stdout.trim()
    const logout = await run(["logout", ...flags], `${sessionId}\n`)
    expect(logout.code).toBe(0)
    expect(logout.stdout).toContain("Session deleted.")
    const again = await run(["logout", ...flags, "-"], sessionId)
    expect(again.code).toBe(9)
    expect(again.stderr).toContain("TMDB has no such session")
  }, 20_000)

  it(
    "validate-key exits 0 for an accepted key and 4 for a refused one; the api_key comes from the environment",
    async () => {
      const ok = await run(["validate-key", "--base-url", server.url], undefined, { TMDB_API_KEY: API_KEY })
      expect(ok.code).toBe(0)
      const refused = await run(["validate-key", "--base-url", server.url, "--api-key", "wrong-key"])
      expect(refused.code).toBe(4)
      expect(refused.stderr).toContain("is invalid")
    },
    20_000
  )

  it("no credential at all exits 4 naming both ways to give one", async () => {
    const result = await run(["validate-key", "--base-url", server.url])
    expect(result.code).toBe(4)
    expect(result.stderr).toContain("TMDB_ACCESS_TOKEN")
    expect(result.stderr).toContain("--api-key")
  }, 20_000)
})

describe("tmdb-auth fake-server", () => {
  it("serves the users of --users and the limit of --rate-limit", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tmdb-auth-"))
    const users = join(dir, "users.json")
    writeFileSync(
      users,
      JSON.stringify([{ username: "ann", password: PASSWORD }, {
        username: "bob",
        password: "x",
        status: "unverified"
      }])
    )
    const fake = start(["fake-server", "--users", users, "--rate-limit", "2"])
    try {
      const [, url] = await waitFor(fake.child, () => fake.output().stdout, /listening on (http:\/\/127\.0\.0\.1:\d+)/)
      expect(fake.output().stdout).toContain("users:             2 from the file")
      const fakeFlags = ["--base-url", url!, "--access-token", ACCESS_TOKEN]
      expect((await run(["login", "-u", "ann", ...fakeFlags], PASSWORD)).code).toBe(0)
      expect((await run(["login", "-u", "bob", ...fakeFlags], "x")).stderr).toContain("not verified")
      const statuses = await Promise.all(
        Array.from(
          { length: 4 },
          () =>
            fetch(`${url}/3/authentication`, { headers: { authorization: `Bearer ${ACCESS_TOKEN}` } }).then((r) =>
              r.status
            )
        )
      )
      expect(statuses.filter((status) => status === 429).length).toBeGreaterThan(0)
    } finally {
      fake.child.kill("SIGINT")
      await fake.done
    }
  }, 30_000)
})

describe("exit codes", () => {
  it("2 for an invalid command line", async () => {
    expect((await run(["login", "--no-such-flag"])).code).toBe(2)
  }, 20_000)

  it(
    "2 with one sentence for a mistake found after parsing: a piped password without --username, a bad --users file",
    async () => {
      const noUser = await run(["login", ...flags], PASSWORD)
      expect(noUser.code).toBe(2)
      expect(noUser.stderr.trim()).toBe("tmdb-auth: pass --username when the password comes from standard input.")
      const dir = mkdtempSync(join(tmpdir(), "tmdb-auth-"))
      writeFileSync(join(dir, "users.json"), "[{\"username\": 1}]")
      const badUsers = await run(["fake-server", "--users", join(dir, "users.json")])
      expect(badUsers.code).toBe(2)
      expect(badUsers.stderr).toMatch(/^tmdb-auth: cannot read --users/)
      expect(badUsers.stderr).not.toMatch(/\n\s+at /)
    },
    20_000
  )

  it("2 for invalid configuration in the environment, naming it", async () => {
    const result = await run(["validate-key", ...flags], undefined, { TMDB_TIMEOUT: "soon" })
    expect(result.code).toBe(2)
    expect(result.stderr).toContain("Invalid configuration")
    expect(result.stderr).toContain("TMDB_TIMEOUT")
  }, 20_000)

  it("the environment's TMDB_BASE_URL still applies when the credential comes from a flag", async () => {
    const result = await run(["validate-key", "--access-token", ACCESS_TOKEN], undefined, { TMDB_BASE_URL: server.url })
    expect(result.code).toBe(0)
  }, 20_000)

  it("11 when fake-server cannot listen on its port", async () => {
    const result = await run(["fake-server", "--port", String(server.port)])
    expect(result.code).toBe(11)
    expect(result.stderr.trim()).toBe("tmdb-auth: Could not start a local server (EADDRINUSE).")
  }, 20_000)

  it("5 when still rate limited after the retries, saying what it waited for", async () => {
    await Effect.runPromise(
      server.fail("GET /3/authentication", ...Array.from({ length: 6 }, () => Fault.RateLimited({ retryAfter: 1 })))
    )
    const result = await run(["validate-key", ...flags])
    expect(result.code).toBe(5)
    expect(result.stderr).toContain("↻ Retrying in 1s: TMDB is rate limiting this client")
    expect(result.stderr).toContain("tmdb-auth: TMDB is rate limiting this client")
  }, 30_000)

  it("6 when TMDB cannot be reached", async () => {
    const result = await run([
      "logout",
      "some-session",
      "--base-url",
      "http://127.0.0.1:1",
      "--access-token",
      "x",
      "--no-retry"
    ])
    expect(result.code).toBe(6)
    expect(result.stderr).toContain("Could not reach TMDB")
  }, 20_000)

  it("10 for an answer that cannot be read", async () => {
    // session/new is a POST: a garbled answer to it is not asked again, but the login starts over with a new
    // request token (retry.maxRestarts, 3): garbled every time, the answer is the user's.
    await Effect.runPromise(
      server.fail("POST /3/authentication/session/new", ...Array.from({ length: 4 }, () => Fault.Truncated()))
    )
    const result = await run(["login", "-u", "jane", ...flags], PASSWORD)
    expect(result.code).toBe(10)
    expect(result.stderr).toContain("could not be decoded")
  }, 20_000)

  it("130 on Ctrl-C during the browser flow: the callback server closes", async () => {
    const { login, url } = await startBrowserLogin()
    const callback = new URL(new URL(url).searchParams.get("redirect_to")!)
    login.child.kill("SIGINT")
    const result = await login.done
    expect(result.code).toBe(130)
    await expect(fetch(callback)).rejects.toThrow()
  }, 20_000)

  it("130 on Ctrl-C: fake-server stops and its port closes", async () => {
    const fake = start(["fake-server"])
    const [, url] = await waitFor(fake.child, () => fake.output().stdout, /listening on (http:\/\/127\.0\.0\.1:\d+)/)
    expect((await fetch(`${url}/3/authentication`, { headers: { authorization: `Bearer ${ACCESS_TOKEN}` } })).status)
      .toBe(200)
    fake.child.kill("SIGINT")
    const result = await fake.done
    expect(result.code).toBe(130)
    await expect(fetch(`${url}/3/authentication`)).rejects.toThrow()
  }, 20_000)
})

describe("edges a new user finds", () => {
  it("tmdb-auth login --json | tmdb-auth logout -: logout accepts the JSON that login prints", async () => {
    const login = await run(["login", "-u", "jane", "--json", ...flags], PASSWORD)
    expect(login.code).toBe(0)
    const sessionId = JSON.parse(login.stdout).session_id as string
    expect(await sessionIds()).toContain(sessionId)
    const logout = await run(["logout", ...flags, "-"], login.stdout)
    expect(logout.code).toBe(0)
    expect(await sessionIds()).not.toContain(sessionId)
    const wrongJson = await run(["logout", ...flags], "{\"guest_session_id\": \"x\"}\n")
    expect(wrongJson.code).toBe(2)
    expect(wrongJson.stderr).toContain("session_id")
  }, 20_000)

  it("--no-retry and --retries 0 fail at the first 429 without waiting; --retries 1 retries once", async () => {
    for (const flag of [["--no-retry"], ["--retries", "0"]]) {
      await Effect.runPromise(server.fail("GET /3/authentication", Fault.RateLimited({ retryAfter: 5 })))
      const asked = async () =>
        (await Effect.runPromise(server.requests)).filter((r) => r.path === "/3/authentication").length
      const before = await asked()
      const result = await run(["validate-key", ...flags, ...flag])
      expect(result.code, flag.join(" ")).toBe(5)
      expect(result.stderr).not.toContain("↻ Retrying")
      // One request, no retry: what the flag controls (how fast a process starts is the machine's business).
      expect(await asked()).toBe(before + 1)
    }
    await Effect.runPromise(
      server.fail("GET /3/authentication", Fault.RateLimited({ retryAfter: 1 }), Fault.RateLimited({ retryAfter: 1 }))
    )
    const once = await run(["validate-key", ...flags, "--retries", "1"])
    expect(once.code).toBe(5)
    expect(once.stderr.match(/↻ Retrying/g)).toHaveLength(1)
  }, 30_000)

  it("with --json, an error is one JSON object on stderr: error, message, exitCode", async () => {
    const result = await run(["login", "-u", "jane", "--json", ...flags], "wrong\n")
    expect(result.code).toBe(3)
    expect(result.stdout).toBe("")
    expect(JSON.parse(result.stderr)).toEqual({
      error: "InvalidCredentials",
      message: "TMDB refused the login: the username or password is wrong.",
      exitCode: 3
    })
    const usage = await run(["guest", "--json", "--retries", "-1", ...flags])
    expect(usage.code).toBe(2)
    expect(JSON.parse(usage.stderr.trim().split("\n").pop()!)).toMatchObject({ error: "UsageError", exitCode: 2 })
    const config = await run(["guest", "--json", ...flags], undefined, { TMDB_TIMEOUT: "soon" })
    expect(config.code).toBe(2)
    expect(JSON.parse(config.stderr)).toMatchObject({ error: "ConfigError", exitCode: 2 })
    // A command without --json reports in plain text, whatever the command line holds.
    const plainText = await run(["validate-key", "--json", ...flags])
    expect(plainText.code).toBe(2)
    expect(() => JSON.parse(plainText.stderr)).toThrow()
  }, 60_000) // four processes in a row: a generous bound for a loaded machine

  it("prints no ANSI escape codes when output is not a terminal, or with NO_COLOR on a terminal", async () => {
    const piped = await run(["--help"])
    expect(piped.code).toBe(0)
    expect(piped.stdout).toContain("USAGE")
    expect(piped.stdout).not.toContain("\u001b")
    const usageError = await run(["login", "--no-such-flag"])
    expect(usageError.stdout + usageError.stderr).not.toContain("\u001b")
    const noColor = startInTerminal(["--help"], { NO_COLOR: "1" })
    expect(await noColor.closed).toBe(0)
    expect(noColor.screen()).toContain("USAGE")
    expect(noColor.screen()).not.toContain("\u001b[")
    // On a terminal without NO_COLOR the help is coloured: the check above would see it.
    const coloured = startInTerminal(["--help"])
    expect(await coloured.closed).toBe(0)
    expect(coloured.screen()).toContain("\u001b[")
  }, 20_000)

  it("a mistaken TMDB_BASE_URL or --base-url exits 2 with one sentence naming the setting and the fix", async () => {
    const notUrl = await run(["validate-key", "--access-token", ACCESS_TOKEN], undefined, {
      TMDB_BASE_URL: "not-a-url"
    })
    expect(notUrl.code).toBe(2)
    expect(notUrl.stderr.trim().split("\n")).toHaveLength(1)
    expect(notUrl.stderr).toContain("TMDB_BASE_URL")
    expect(notUrl.stderr).toContain("http(s) URL")
    const versioned = await run([
      "validate-key",
      "--access-token",
      ACCESS_TOKEN,
      "--base-url",
      "https://api.themoviedb.org/3"
    ])
    expect(versioned.code).toBe(2)
    expect(versioned.stderr).toContain("use \"https://api.themoviedb.org\"")
    const newline = await run(["validate-key", "--base-url", server.url], undefined, { TMDB_ACCESS_TOKEN: "eyJ\nx" })
    expect(newline.code).toBe(2)
    expect(newline.stderr).toContain("TMDB_ACCESS_TOKEN")
  }, 20_000)
})
