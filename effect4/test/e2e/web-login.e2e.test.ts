/**
 * The web login over real sockets on 127.0.0.1, driven with fetch (a cookie jar of our own): the plain router and
 * the HttpApi flavour with their middlewares, the storage options (memory, files, a real redis-server), lifetimes,
 * a session TMDB forgot, logout when TMDB fails, cookie flags, and configuration mistakes.
 */
import { NodeServices } from "@effect/platform-node"
import { type Config, ConfigProvider, Effect, Layer, Redacted, Result } from "effect"
import { Redis } from "ioredis"
import { mkdtempSync, readdirSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { AuthService } from "../../src/index.js"
import { FakeTmdb, Fault } from "../../src/testing/index.js"
import { TmdbWebLogin, WebSessionStore } from "../../src/web/index.js"
import { type RedisServer, startRedis } from "../support/redis.js"
import { Browser, KEY, MeApiLive, sessionCount, withApiApp, withRouterApp } from "../support/webApp.js"

describe("the web login as a plain HttpRouter, sessions in memory", () => {
  it(
    "signs in: 303 to returnTo with an opaque session cookie; the middleware gives the account; logout ends both sessions",
    async () => {
      await withRouterApp(WebSessionStore.layerMemory, async ({ app, fake }) => {
        const browser = new Browser()
        expect((await browser.fetch(`${app}/api/me`)).status).toBe(401)
        const callback = await browser.signIn(app, "/movies?page=2")
        expect(callback.status).toBe(303)
        expect(callback.headers.get("location")).toBe("/movies?page=2")
        const cookie = browser.setCookies.find((c) => c.startsWith("tmdb_session="))!
        expect(cookie).toMatch(/; Max-Age=2592000; Path=\/; HttpOnly; SameSite=Lax$/)
        expect(cookie).not.toContain("Secure")
        const tmdbSession = Redacted.value((await Effect.runPromise(fake.sessions))[0]!.sessionId)
        expect(browser.cookies.get("tmdb_session")).not.toContain(tmdbSession)
        const answer = await browser.fetch(`${app}/api/me`)
        expect(await answer.json()).toEqual({ username: "demo" })

        const logout = await browser.fetch(`${app}/auth/tmdb/logout`, { method: "POST", headers: { origin: app } })
        expect(logout.status).toBe(303)
        expect(browser.cookies.has("tmdb_session")).toBe(false)
        expect(await sessionCount(fake)).toBe(0)
        expect((await browser.fetch(`${app}/api/me`)).status).toBe(401)
      })
    },
    30_000
  )

  it("a 401 from the middleware is JSON; an unknown or tampered cookie is no session", async () => {
    await withRouterApp(WebSessionStore.layerMemory, async ({ app }) => {
      const anonymous = await fetch(`${app}/api/me`)
      expect(anonymous.status).toBe(401)
      expect(await anonymous.json()).toEqual({ _tag: "Unauthorized", message: "Sign in with TMDB first." })
      const browser = new Browser()
      await browser.signIn(app)
      const value = browser.cookies.get("tmdb_session")!
      browser.cookies.set("tmdb_session", `${value.slice(0, -2)}AA`)
      expect((await browser.fetch(`${app}/api/me`)).status).toBe(401)
    })
  }, 30_000)

  it(
    "a callback without the login cookie, or after loginTimeout, is refused with 400 and creates nothing",
    async () => {
      await withRouterApp(WebSessionStore.layerMemory, async ({ app, fake }) => {
        const browser = new Browser()
        const login = await browser.fetch(`${app}/auth/tmdb/login`)
        const approval = await browser.fetch(login.headers.get("location")!)
        const callback = approval.headers.get("location")!
        const stranger = await fetch(callback, { redirect: "manual" })
        expect(stranger.status).toBe(400)
        expect(await stranger.text()).toContain("Sign-in refused")
        await new Promise((resolve) => setTimeout(resolve, 1100))
        const late = await browser.fetch(callback)
        expect(late.status).toBe(400)
        expect(await sessionCount(fake)).toBe(0)
      }, { loginTimeout: "1 second" })
    },
    30_000
  )

  it("a session ends after absoluteTimeout, and after idleTimeout without use", async () => {
    await withRouterApp(WebSessionStore.layerMemory, async ({ app }) => {
      const browser = new Browser()
      await browser.signIn(app)
      expect((await browser.fetch(`${app}/api/me`)).status).toBe(200)
      await new Promise((resolve) => setTimeout(resolve, 1600))
      expect((await browser.fetch(`${app}/api/me`)).status).toBe(401)
    }, { absoluteTimeout: "1500 millis" })
    await withRouterApp(WebSessionStore.layerMemory, async ({ app }) => {
      const browser = new Browser()
      await browser.signIn(app)
      await new Promise((resolve) => setTimeout(resolve, 1100))
      expect((await browser.fetch(`${app}/api/me`)).status).toBe(401)
    }, { idleTimeout: "1 second" })
  }, 30_000)

  it("a stored session TMDB answers 401/3 for is dropped at its next check", async () => {
    await withRouterApp(WebSessionStore.layerMemory, async ({ app, fake }) => {
      const browser = new Browser()
      await browser.signIn(app)
      expect((await browser.fetch(`${app}/api/me`)).status).toBe(200)
      // The user revoked the session on TMDB (here: deleted through the API behind the app's back).
      const [live] = await Effect.runPromise(fake.sessions)
      await fetch(`${fake.url}/3/authentication/session`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${FakeTmdb.defaults.accessToken}`, "content-type": "application/json" },
        body: JSON.stringify({ session_id: Redacted.value(live!.sessionId) })
      })
      await new Promise((resolve) => setTimeout(resolve, 20))
      expect((await browser.fetch(`${app}/api/me`)).status).toBe(401)
      const requests = await Effect.runPromise(fake.requests)
      expect(requests.at(-1)).toMatchObject({ path: "/3/account", status: 401, statusCode: 3 })
    }, { revalidateAfter: "10 millis" })
  }, 30_000)

  it("a session is kept when TMDB cannot be asked at its check, and not asked again on every request", async () => {
    await withRouterApp(WebSessionStore.layerMemory, async ({ app, fake }) => {
      const browser = new Browser()
      await browser.signIn(app)
      await Effect.runPromise(fake.fail("GET /3/account", ...Array.from({ length: 4 }, () => Fault.Unavailable())))
      await new Promise((resolve) => setTimeout(resolve, 300))
      const accountCalls = async () =>
        (await Effect.runPromise(fake.requests)).filter((r) => r.path === "/3/account").length
      const before = await accountCalls()
      expect((await browser.fetch(`${app}/api/me`)).status).toBe(200)
      const afterCheck = await accountCalls()
      expect(afterCheck).toBeGreaterThan(before)
      expect((await browser.fetch(`${app}/api/me`)).status).toBe(200)
      expect(await accountCalls()).toBe(afterCheck)
    }, { revalidateAfter: "250 millis" })
  }, 30_000)

  it("a session check waits at most 3 seconds for a slow TMDB, then keeps the session", async () => {
    await withRouterApp(WebSessionStore.layerMemory, async ({ app, fake }) => {
      const browser = new Browser()
      await browser.signIn(app)
      await Effect.runPromise(fake.fail("GET /3/account", Fault.Delay({ duration: "20 seconds" })))
      await new Promise((resolve) => setTimeout(resolve, 300))
      const started = Date.now()
      expect((await browser.fetch(`${app}/api/me`)).status).toBe(200)
      expect(Date.now() - started).toBeLessThan(5_000)
    }, { revalidateAfter: "250 millis" })
  }, 30_000)

  it(
    "logout: TMDB failing to delete, the local session is removed and the cookie cleared anyway; the delete is tried again",
    async () => {
      await withRouterApp(WebSessionStore.layerMemory, async ({ app, fake }) => {
        const browser = new Browser()
        await browser.signIn(app)
        // More 500s than the delete's own retries (the test app retries once): the first two deletes fail as a whole.
        await Effect.runPromise(
          fake.fail("DELETE /3/authentication/session", ...Array.from({ length: 4 }, () => Fault.InternalError()))
        )
        const logout = await browser.fetch(`${app}/auth/tmdb/logout`, { method: "POST", headers: { origin: app } })
        expect(logout.status).toBe(303)
        expect(browser.cookies.has("tmdb_session")).toBe(false)
        expect((await browser.fetch(`${app}/api/me`)).status).toBe(401)
        // The cleanup tries again in the background (within lateAnswerGrace) until TMDB deletes the session.
        for (let i = 0; i < 200 && (await sessionCount(fake)) > 0; i++) {
          await new Promise((resolve) => setTimeout(resolve, 100))
        }
        expect(await sessionCount(fake)).toBe(0)
        const deletes = (await Effect.runPromise(fake.requests)).filter((r) => r.method === "DELETE")
        expect(deletes.at(-1)?.status).toBe(200)
        expect(deletes.length).toBeGreaterThan(1)
      })
    },
    30_000
  )

  it("logout from another origin is refused with 403 (Origin or Sec-Fetch-Site), the session kept", async () => {
    await withRouterApp(WebSessionStore.layerMemory, async ({ app, fake }) => {
      const browser = new Browser()
      await browser.signIn(app)
      for (const headers of [{ origin: "https://evil.example" }, { "sec-fetch-site": "cross-site" }]) {
        const refused = await browser.fetch(`${app}/auth/tmdb/logout`, { method: "POST", headers })
        expect(refused.status).toBe(403)
      }
      expect((await browser.fetch(`${app}/api/me`)).status).toBe(200)
      expect(await sessionCount(fake)).toBe(1)
    })
  }, 30_000)

  it("on an https public URL the cookies are __Host- prefixed: Secure, Path=/, no Domain", async () => {
    await withRouterApp(WebSessionStore.layerMemory, async ({ app }) => {
      const login = await fetch(`${app}/auth/tmdb/login`, { redirect: "manual" })
      expect(login.headers.get("set-cookie")).toMatch(
        /^__Host-tmdb_login=[^;]+; Max-Age=900; Path=\/; HttpOnly; Secure; SameSite=Lax$/
      )
      expect(new URL(login.headers.get("location")!).searchParams.get("redirect_to")).toBe(
        "https://app.example/auth/tmdb/callback"
      )
    }, { publicUrl: "https://app.example" })
  }, 30_000)
})

describe("the web login's storage", () => {
  it(
    "files (KeyValueStore.layerFileSystem): one file per session, holding neither the cookie nor a readable key",
    async () => {
      const directory = mkdtempSync(join(tmpdir(), "tmdb-web-sessions-"))
      await withRouterApp(
        WebSessionStore.layerFileSystem(directory).pipe(Layer.provide(NodeServices.layer)),
        async ({ app }) => {
          const browser = new Browser()
          await browser.signIn(app)
          expect((await browser.fetch(`${app}/api/me`)).status).toBe(200)
          const files = readdirSync(directory)
          expect(files.filter((f) => f.startsWith("session"))).toHaveLength(1)
          const cookie = browser.cookies.get("tmdb_session")!
          for (const file of files) {
            expect(file).not.toContain(cookie.split(".")[0])
            expect(readFileSync(join(directory, file), "utf8")).not.toContain(cookie.split(".")[0])
          }
        }
      )
    },
    30_000
  )

  describe("Redis (a real redis-server)", () => {
    let redis: RedisServer
    beforeAll(async () => {
      redis = await startRedis()
    }, 20_000)
    afterAll(() => redis?.stop())

    it("entries carry a TTL of the idle lifetime; two app instances share the sessions", async () => {
      const store = WebSessionStore.layerRedis({ host: "127.0.0.1", port: redis.port, prefix: "test-web:" })
      const client = new Redis({ host: "127.0.0.1", port: redis.port })
      try {
        await withRouterApp(store, async ({ app }) => {
          const browser = new Browser()
          await browser.signIn(app)
          const keys = await client.keys("test-web:session:*")
          expect(keys).toHaveLength(1)
          // The account's index expires with its last session.
          expect(await client.pttl("test-web:set:account:1000")).toBeGreaterThan(2_000_000_000)
          const ttl = await client.pttl(keys[0]!)
          expect(ttl).toBeGreaterThan(50_000)
          // The idle lifetime, and the few minutes an ended entry is kept for the sweep to end it at TMDB.
          expect(ttl).toBeLessThanOrEqual(60_000 + 300_000)
          // A second instance with the same key and Redis knows the browser.
          await withRouterApp(store, async ({ app: second }) => {
            expect((await browser.fetch(`${second}/api/me`)).status).toBe(200)
          }, { idleTimeout: "1 minute" })
          expect((await browser.fetch(`${app}/api/me`)).status).toBe(200)
          await browser.fetch(`${app}/auth/tmdb/logout`, { method: "POST", headers: { origin: app } })
          // The session and the account's list are gone (the sweep's index and the login's rate limit expire).
          expect(await client.keys("test-web:session:*")).toEqual([])
          expect(await client.keys("test-web:set:account:*")).toEqual([])
        }, { idleTimeout: "1 minute" })
      } finally {
        client.disconnect()
      }
    }, 30_000)
  })
})

describe("the web login as an HttpApiGroup with the TmdbSignIn middleware", () => {
  it("signs in through the group's routes; the middleware answers 401 JSON without a session", async () => {
    await withApiApp(MeApiLive, async ({ app, fake }) => {
      const anonymous = await fetch(`${app}/api/me`)
      expect(anonymous.status).toBe(401)
      expect(await anonymous.json()).toMatchObject({ _tag: "Unauthorized" })
      const browser = new Browser()
      const callback = await browser.signIn(app, "/welcome")
      expect([callback.status, callback.headers.get("location")]).toEqual([303, "/welcome"])
      expect(await (await browser.fetch(`${app}/api/me`)).json()).toEqual({ username: "demo" })
      const crossSite = await browser.fetch(`${app}/auth/tmdb/logout`, {
        method: "POST",
        headers: { origin: "https://evil.example" }
      })
      expect(crossSite.status).toBe(403)
      const logout = await browser.fetch(`${app}/auth/tmdb/logout`, { method: "POST", headers: { origin: app } })
      expect(logout.status).toBe(303)
      expect(await sessionCount(fake)).toBe(0)
      expect((await browser.fetch(`${app}/api/me`)).status).toBe(401)
    })
  }, 30_000)
})

describe("the web login's configuration", () => {
  const build = (layer: Layer.Layer<TmdbWebLogin, Config.ConfigError, AuthService | WebSessionStore>) =>
    Effect.runPromise(
      Effect.result(Effect.scoped(Layer.build(layer.pipe(
        Layer.provide(WebSessionStore.layerMemory),
        Layer.provide(FakeTmdb.layerAuthService())
      ))))
    )

  it("a short signing key, a bad public URL or prefix are ConfigErrors naming the setting", async () => {
    for (
      const [options, setting] of [
        [{ publicUrl: "http://127.0.0.1", signingKey: "short" }, "signingKey"],
        [{ publicUrl: "not a url", signingKey: KEY }, "publicUrl"],
        [{ publicUrl: "ftp://app.example", signingKey: KEY }, "publicUrl"],
        [{ publicUrl: "http://127.0.0.1", signingKey: KEY, prefix: "auth" }, "prefix"],
        [{ publicUrl: "http://127.0.0.1", signingKey: KEY, idleTimeout: 0 }, "idleTimeout"]
      ] as const
    ) {
      const result = await build(TmdbWebLogin.layer(options))
      expect(Result.isFailure(result)).toBe(true)
      const error = Result.getFailure(result)
      // Effect 4's ConfigError: the message, then the setting's path (0.x: "Invalid data at <setting>").
      expect(String(error.pipe((e) => e._tag === "Some" ? e.value : undefined))).toContain(`at ["${setting}"]`)
    }
  })

  it("weak signing keys are refused at startup with the fix named, the key never shown", async () => {
    for (
      const weak of ["a".repeat(32), " ".repeat(32), "abababababababababababababababab", "abcdefg".repeat(5)]
    ) {
      const result = await build(TmdbWebLogin.layer({ publicUrl: "http://127.0.0.1", signingKey: weak }))
      const message = Result.isFailure(result) ? String(result.failure) : "accepted"
      expect(message, JSON.stringify(weak)).toContain(`at ["signingKey"]`)
      expect(message).toContain("at least 32 characters")
      expect(message).toContain("openssl rand -base64 32")
      expect(message).not.toContain(weak)
    }
    const list = await build(TmdbWebLogin.layer({ publicUrl: "http://127.0.0.1", signingKey: [KEY, "a".repeat(40)] }))
    expect(Result.isFailure(list) && String(list.failure)).toContain("key 2: it is one repeated character")
    const rotated = await build(TmdbWebLogin.layer({ publicUrl: "http://127.0.0.1", signingKey: [KEY, `${KEY}-old`] }))
    expect(Result.isSuccess(rotated)).toBe(true)
    const cookieName = await build(
      TmdbWebLogin.layer({ publicUrl: "http://127.0.0.1", signingKey: KEY, cookieName: "__Host-x" })
    )
    expect(Result.isFailure(cookieName) && String(cookieName.failure)).toContain(`at ["cookieName"]`)
  })

  it(
    "key rotation: a session signed with a key now second in the list still works; with the key removed it does not",
    async () => {
      const old = "an older key, still accepted: 8f2c91d0a7b3e645"
      const directory = mkdtempSync(join(tmpdir(), "tmdb-web-rotation-"))
      const store = WebSessionStore.layerFileSystem(directory).pipe(Layer.provide(NodeServices.layer))
      const browser = new Browser()
      await withRouterApp(store, async ({ app }) => {
        await browser.signIn(app)
      }, { signingKey: old, revalidateAfter: "1 day" })
      await withRouterApp(store, async ({ app }) => {
        expect((await browser.fetch(`${app}/api/me`)).status).toBe(200)
      }, { signingKey: [KEY, old], revalidateAfter: "1 day" })
      await withRouterApp(store, async ({ app }) => {
        expect((await browser.fetch(`${app}/api/me`)).status).toBe(401)
      }, { signingKey: KEY, revalidateAfter: "1 day" })
    },
    30_000
  )

  it("layerConfig reads TMDB_WEB_PUBLIC_URL and TMDB_WEB_SIGNING_KEY; a missing or short key fails at startup", async () => {
    const withEnv = (env: Record<string, string>) =>
      Effect.runPromise(Effect.result(
        Effect.scoped(Layer.build(
          TmdbWebLogin.layerConfig().pipe(
            Layer.provide(WebSessionStore.layerMemory),
            Layer.provide(FakeTmdb.layerAuthService()),
            Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown(env)))
          )
        ))
      ))
    const missing = await withEnv({ TMDB_WEB_PUBLIC_URL: "http://127.0.0.1" })
    expect(Result.isFailure(missing) && String(missing.failure)).toContain("TMDB_WEB_SIGNING_KEY")
    const short = await withEnv({ TMDB_WEB_PUBLIC_URL: "http://127.0.0.1", TMDB_WEB_SIGNING_KEY: "too-short" })
    expect(Result.isFailure(short) && String(short.failure)).toContain("at least 32 characters")
    expect(Result.isFailure(short) && String(short.failure)).not.toContain("too-short")
    const good = await withEnv({ TMDB_WEB_PUBLIC_URL: "http://127.0.0.1", TMDB_WEB_SIGNING_KEY: KEY })
    expect(Result.isSuccess(good)).toBe(true)
    const weak = await withEnv({ TMDB_WEB_PUBLIC_URL: "http://127.0.0.1", TMDB_WEB_SIGNING_KEY: " ".repeat(40) })
    expect(Result.isFailure(weak) && String(weak.failure)).toContain(
      "TMDB_WEB_SIGNING_KEY must be at least 32 characters"
    )
    const list = await withEnv({ TMDB_WEB_PUBLIC_URL: "http://127.0.0.1", TMDB_WEB_SIGNING_KEY: `${KEY}, ${KEY}-old` })
    expect(Result.isSuccess(list)).toBe(true)
  })
})
