/**
 * The web login's stored sessions over real sockets on 127.0.0.1, on each store (memory, files, a real
 * redis-server): encrypted at rest, ended at TMDB however they end (idle, absolute, a newer sign-in in the same
 * browser, over the per-account cap), swept when nobody comes back; the login route's guards; a Redis that is down
 * or hung answers 503, never "sign in".
 */
import { NodeServices } from "@effect/platform-node"
import { Effect, Layer, Redacted } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { HttpApi, HttpApiBuilder } from "effect/http-api"
import { Redis } from "ioredis"
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { UserSession } from "../../src/index.js"
import { FakeTmdb, Fault } from "../../src/testing/index.js"
import { layerTmdbAuthHandlers, TmdbAuthGroup, TmdbWebLogin, WebSessionStore } from "../../src/web/index.js"
import { type RedisServer, startRedis } from "../support/redis.js"
import { Browser, MeApiLive, type Running, sessionCount, withApiApp, withRouterApp } from "../support/webApp.js"

let redis: RedisServer
beforeAll(async () => {
  redis = await startRedis()
}, 20_000)
afterAll(() => redis?.stop())

let prefixes = 0
const redisStore = (): Layer.Layer<WebSessionStore, unknown> =>
  WebSessionStore.layerRedis({ host: "127.0.0.1", port: redis.port, prefix: `t${++prefixes}:` })
const stores: Record<string, () => Layer.Layer<WebSessionStore, unknown>> = {
  memory: () => WebSessionStore.layerMemory,
  files: () =>
    WebSessionStore.layerFileSystem(mkdtempSync(join(tmpdir(), "tmdb-web-store-"))).pipe(
      Layer.provide(NodeServices.layer)
    ),
  redis: redisStore
}

/** Waits until `check` holds (background work: ending at TMDB, the sweep), at most `millis`. */
const eventually = async (check: () => Promise<boolean>, millis = 5_000) => {
  const until = Date.now() + millis
  while (!(await check()) && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 50))
  return check()
}

/** Every value the store holds under `session:`. */
const storedEntries = async ({ store }: Running) => {
  const keys = await Effect.runPromise(store.listKeys!("session:"))
  return Promise.all(keys.map((key) => Effect.runPromise(Effect.map(store.store.get(key), (value) => value ?? ""))))
}

const tmdbSessionIds = async ({ fake }: Running) =>
  (await Effect.runPromise(fake.sessions)).map((s) => Redacted.value(s.sessionId))

for (const [name, layer] of Object.entries(stores)) {
  describe(`stored sessions (${name})`, () => {
    it("the TMDB session id is encrypted at rest: no stored value holds it", async () => {
      await withRouterApp(layer(), async (running) => {
        const browser = new Browser()
        await browser.signIn(running.app)
        const [sessionId] = await tmdbSessionIds(running)
        const entries = await storedEntries(running)
        expect(entries).toHaveLength(1)
        expect(entries[0]).not.toContain(sessionId!)
        expect(JSON.parse(entries[0]!)).toMatchObject({ account: { username: "demo" }, k: expect.any(String) })
        expect((await browser.fetch(`${running.app}/api/me`)).status).toBe(200)
      })
    }, 30_000)

    it("a session that ends idle is deleted at TMDB when used, and by the sweep when nobody comes back", async () => {
      await withRouterApp(layer(), async (running) => {
        const used = new Browser()
        const forgotten = new Browser()
        await used.signIn(running.app)
        await forgotten.signIn(running.app)
        expect(await sessionCount(running.fake)).toBe(2)
        await new Promise((resolve) => setTimeout(resolve, 1_100))
        expect((await used.fetch(`${running.app}/api/me`)).status).toBe(401)
        // Both end at TMDB: the used one at once, the other by the sweep (every 200 ms here).
        expect(await eventually(async () => (await sessionCount(running.fake)) === 0)).toBe(true)
        expect(await eventually(async () => (await storedEntries(running)).length === 0)).toBe(true)
      }, { idleTimeout: "1 second", sweepInterval: "200 millis" })
    }, 30_000)

    it("a session past its absolute end is deleted at TMDB by the sweep", async () => {
      await withRouterApp(layer(), async (running) => {
        await new Browser().signIn(running.app)
        expect(await sessionCount(running.fake)).toBe(1)
        expect(await eventually(async () => (await sessionCount(running.fake)) === 0, 6_000)).toBe(true)
      }, { absoluteTimeout: "1 second", sweepInterval: "200 millis" })
    }, 30_000)

    it("signing in again in the same browser ends the old session, here and at TMDB", async () => {
      await withRouterApp(layer(), async (running) => {
        const browser = new Browser()
        await browser.signIn(running.app)
        const old = browser.cookies.get("tmdb_session")!
        const [oldId] = await tmdbSessionIds(running)
        await browser.signIn(running.app)
        expect(browser.cookies.get("tmdb_session")).not.toBe(old)
        expect((await browser.fetch(`${running.app}/api/me`)).status).toBe(200)
        const stale = new Browser()
        stale.cookies.set("tmdb_session", old)
        expect((await stale.fetch(`${running.app}/api/me`)).status).toBe(401)
        expect(await eventually(async () => !(await tmdbSessionIds(running)).includes(oldId!))).toBe(true)
        expect(await sessionCount(running.fake)).toBe(1)
      })
    }, 30_000)

    it("maxSessionsPerAccount: a sign-in beyond it ends the account's oldest session, here and at TMDB", async () => {
      await withRouterApp(layer(), async (running) => {
        const browsers = [new Browser(), new Browser(), new Browser(), new Browser()]
        for (const browser of browsers) await browser.signIn(running.app)
        expect((await browsers[0]!.fetch(`${running.app}/api/me`)).status).toBe(401)
        for (const browser of browsers.slice(1)) {
          expect((await browser.fetch(`${running.app}/api/me`)).status).toBe(200)
        }
        expect(await eventually(async () => (await sessionCount(running.fake)) === 3)).toBe(true)
        expect(await storedEntries(running)).toHaveLength(3)
      }, { maxSessionsPerAccount: 3 })
    }, 30_000)
  })
}

describe("stored sessions: what no key decrypts, 0.5.0's plain entries, the file store's permissions", () => {
  it("an entry no signing key decrypts is dropped and logged, not used", async () => {
    const logs: Array<{ level: string; message: string }> = []
    await withRouterApp(
      WebSessionStore.layerMemory,
      async (running) => {
        const browser = new Browser()
        await browser.signIn(running.app)
        const [key] = await Effect.runPromise(running.store.listKeys!("session:"))
        const entry = JSON.parse((await Effect.runPromise(running.store.store.get(key!)))!)
        // Sealed under another key (or tampered): AES-GCM refuses it.
        const k = entry.k as string
        entry.k = `${k.slice(0, 20)}${k[20] === "A" ? "B" : "A"}${k.slice(21)}`
        await Effect.runPromise(running.store.store.set(key!, JSON.stringify(entry)))
        expect((await browser.fetch(`${running.app}/api/me`)).status).toBe(401)
        expect(logs.map((l) => l.message)).toContainEqual(expect.stringContaining("no signing key decrypts"))
        expect(await storedEntries(running)).toEqual([])
      },
      {},
      { logs }
    )
  }, 30_000)

  it("0.5.0's plain-text entries are ended at TMDB by the first sweep (files, and Redis)", async () => {
    await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const fake = yield* FakeTmdb.serve()
      const entry = (sessionId: string) =>
        JSON.stringify({
          sessionId,
          account: { id: 1000, username: "demo", name: "", languageCode: "en", countryCode: "US", includeAdult: false },
          createdAt: Date.now(),
          lastSeenAt: Date.now(),
          checkedAt: Date.now()
        })
      // What 0.5.0 left: in files (with its index), and in Redis (entries with a TTL, no index).
      const directory = mkdtempSync(join(tmpdir(), "tmdb-web-legacy-"))
      const inFile = yield* Effect.promise(() => newTmdbSession(fake.url))
      writeFileSync(join(directory, encodeURIComponent("session:legacy-file")), entry(inFile))
      writeFileSync(join(directory, "index"), JSON.stringify({ "legacy-file": Date.now() + 1e9 }))
      const inRedis = yield* Effect.promise(() => newTmdbSession(fake.url))
      const client = new Redis({ host: "127.0.0.1", port: redis.port })
      yield* Effect.promise(() => client.set("legacy:session:legacy-redis", entry(inRedis), "PX", 600_000))
      client.disconnect()
      const ids = () =>
        Effect.runPromise(Effect.map(fake.sessions, (all) => all.map((s) => Redacted.value(s.sessionId))))
      expect(yield* Effect.promise(ids)).toEqual(expect.arrayContaining([inFile, inRedis]))

      const cases: ReadonlyArray<readonly [Layer.Layer<WebSessionStore, unknown>, string]> = [
        [WebSessionStore.layerFileSystem(directory).pipe(Layer.provide(NodeServices.layer)), inFile],
        [WebSessionStore.layerRedis({ host: "127.0.0.1", port: redis.port, prefix: "legacy:" }), inRedis]
      ]
      for (const [store, sessionId] of cases) {
        yield* Effect.promise(() =>
          withRouterApp(
            store,
            async (running) => {
              expect(await eventually(async () => !(await ids()).includes(sessionId))).toBe(true)
              expect(await storedEntries(running)).toEqual([])
            },
            {},
            { fake }
          )
        )
      }
    })))
  }, 30_000)

  it(
    "the file store: directory 0700 (a wider one tightened, with a warning), files 0600, no temporary left",
    async () => {
      const directory = join(mkdtempSync(join(tmpdir(), "tmdb-web-perms-")), "sessions")
      mkdirSync(directory, { mode: 0o755 })
      chmodSync(directory, 0o755)
      const logs: Array<{ level: string; message: string }> = []
      await withRouterApp(
        WebSessionStore.layerFileSystem(directory).pipe(Layer.provide(NodeServices.layer)),
        async (running) => {
          await new Browser().signIn(running.app)
          expect(statSync(directory).mode & 0o777).toBe(0o700)
          const files = readdirSync(directory)
          expect(files.length).toBeGreaterThan(0)
          for (const file of files) {
            expect(file.startsWith(".tmp-")).toBe(false)
            expect(statSync(join(directory, file)).mode & 0o777).toBe(0o600)
            const [sessionId] = await tmdbSessionIds(running)
            expect(readFileSync(join(directory, file), "utf8")).not.toContain(sessionId!)
          }
        },
        {},
        { logs }
      )
      expect(logs).toContainEqual(
        expect.objectContaining({ level: "WARN", message: expect.stringContaining("owner-only") })
      )
    },
    30_000
  )
})

/** A TMDB session made outside the app (through the fake's API), as a 0.5.0 app would have stored one. */
const newTmdbSession = async (fakeUrl: string): Promise<string> => {
  const headers = { authorization: `Bearer ${FakeTmdbToken}`, "content-type": "application/json" }
  const token = (await (await fetch(`${fakeUrl}/3/authentication/token/new`, { headers })).json()).request_token
  await fetch(`${fakeUrl}/3/authentication/token/validate_with_login`, {
    method: "POST",
    headers,
    body: JSON.stringify({ username: "demo", password: "demo-password", request_token: token })
  })
  const session = await fetch(`${fakeUrl}/3/authentication/session/new`, {
    method: "POST",
    headers,
    body: JSON.stringify({ request_token: token })
  })
  return (await session.json()).session_id as string
}
const FakeTmdbToken = FakeTmdb.defaults.accessToken

describe("several instances on one Redis", () => {
  it("a session that ends is claimed by one sweep: TMDB gets one delete, whichever instance sweeps", async () => {
    await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const fake = yield* FakeTmdb.serve()
      const store = redisStore()
      const options = { idleTimeout: "1 second", sweepInterval: "100 millis" } as const
      yield* Effect.promise(() =>
        withRouterApp(
          store,
          async (first) => {
            await withRouterApp(
              store,
              async () => {
                await new Browser().signIn(first.app)
                expect(await sessionCount(fake)).toBe(1)
                expect(await eventually(async () => (await sessionCount(fake)) === 0)).toBe(true)
                await new Promise((resolve) => setTimeout(resolve, 500))
                const deletes = (await Effect.runPromise(fake.requests)).filter((r) => r.method === "DELETE")
                expect(deletes.map((r) => r.status)).toEqual([200])
              },
              options,
              { fake }
            )
          },
          options,
          { fake }
        )
      )
    })))
  }, 30_000)
})

describe("the login route's guards", () => {
  it("over loginRateLimit per client: 429 with Retry-After and a page; no request token spent", async () => {
    await withRouterApp(WebSessionStore.layerMemory, async ({ app, fake }) => {
      const tokens = async () => (await Effect.runPromise(fake.requests)).filter((r) => r.path.endsWith("token/new"))
      for (let i = 0; i < 3; i++) {
        expect((await fetch(`${app}/auth/tmdb/login`, { redirect: "manual" })).status).toBe(302)
      }
      const refused = await fetch(`${app}/auth/tmdb/login`, { redirect: "manual" })
      expect(refused.status).toBe(429)
      expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1)
      expect(await refused.text()).toContain("Too many sign-ins")
      expect(await tokens()).toHaveLength(3)
      // Another client (a key from the proxy's header) has its own budget.
      const other = await fetch(`${app}/auth/tmdb/login`, { redirect: "manual", headers: { "x-client": "b" } })
      expect(other.status).toBe(302)
    }, {
      loginRateLimit: { limit: 3, window: "1 minute", key: (request) => request.headers["x-client"] ?? "a" }
    })
  }, 30_000)

  it("loginRateLimit: false turns it off; the default is 10 a minute per address", async () => {
    await withRouterApp(WebSessionStore.layerMemory, async ({ app }) => {
      const statuses = []
      for (let i = 0; i < 11; i++) statuses.push((await fetch(`${app}/auth/tmdb/login`, { redirect: "manual" })).status)
      expect(statuses.filter((s) => s === 302)).toHaveLength(10)
      expect(statuses.at(-1)).toBe(429)
    })
    await withRouterApp(WebSessionStore.layerMemory, async ({ app }) => {
      for (let i = 0; i < 12; i++) {
        expect((await fetch(`${app}/auth/tmdb/login`, { redirect: "manual" })).status).toBe(302)
      }
    }, { loginRateLimit: false })
  }, 30_000)

  it("the HttpApi group's /login is limited too (10 a minute by default)", async () => {
    class Api extends HttpApi.make("app").add(TmdbAuthGroup) {}
    const ApiLive = HttpApiBuilder.layer(Api).pipe(Layer.provide(layerTmdbAuthHandlers(Api)))
    await withApiApp(ApiLive, async ({ app }) => {
      const statuses = []
      for (let i = 0; i < 11; i++) statuses.push((await fetch(`${app}/auth/tmdb/login`, { redirect: "manual" })).status)
      expect(statuses.slice(0, 10).every((s) => s === 302)).toBe(true)
      expect(statuses[10]).toBe(429)
    })
  }, 30_000)

  it("on Redis the limit is shared by every instance", async () => {
    const store = redisStore()
    await withRouterApp(store, async ({ app }) => {
      for (let i = 0; i < 2; i++) {
        expect((await fetch(`${app}/auth/tmdb/login`, { redirect: "manual" })).status).toBe(302)
      }
      await withRouterApp(store, async ({ app: second }) => {
        expect((await fetch(`${second}/auth/tmdb/login`, { redirect: "manual" })).status).toBe(429)
      }, { loginRateLimit: { limit: 2, window: "1 minute" } })
    }, { loginRateLimit: { limit: 2, window: "1 minute" } })
  }, 30_000)

  it(
    "when TMDB holds the app back (a 30 s Retry-After), /login answers 503 with Retry-After instead of queueing",
    async () => {
      await withRouterApp(WebSessionStore.layerMemory, async ({ app, fake }) => {
        // Five 429s in a row: a limit confirmed, which holds every request back (a lone 429 would not).
        await Effect.runPromise(
          fake.fail(
            "GET /3/authentication/token/new",
            ...Array.from({ length: 5 }, () => Fault.RateLimited({ retryAfter: 30 }))
          )
        )
        const controller = new AbortController()
        const first = Array.from(
          { length: 5 },
          () => fetch(`${app}/auth/tmdb/login`, { redirect: "manual", signal: controller.signal }).catch(() => {})
        )
        try {
          expect(await eventually(async () => (await Effect.runPromise(fake.requests)).length >= 5)).toBe(true)
          const started = Date.now()
          const busy = await fetch(`${app}/auth/tmdb/login`, { redirect: "manual" })
          expect(busy.status).toBe(503)
          expect(Number(busy.headers.get("retry-after"))).toBeGreaterThan(2)
          // Answered, not queued for the 30 s (a bound a busy machine keeps).
          expect(Date.now() - started).toBeLessThan(10_000)
        } finally {
          controller.abort()
          await Promise.all(first)
        }
      })
    },
    30_000
  )
})

describe("a session store that fails: 503, never 'sign in'", () => {
  let own: RedisServer
  beforeAll(async () => {
    own = await startRedis()
  }, 20_000)
  afterAll(() => own?.stop())

  const pageRoute = HttpRouter.add("GET", "/page", Effect.as(UserSession, HttpServerResponse.text("page"))).pipe(
    Layer.provide(TmdbWebLogin.requireSignIn({ unauthenticated: "redirect" }))
  )

  it("Redis hung (SIGSTOP): requests answer 503 within the command timeout; back to 200 when it answers", async () => {
    await withRouterApp(
      WebSessionStore.layerRedis({ host: "127.0.0.1", port: own.port, prefix: "hung:" }),
      async ({ app }) => {
        const browser = new Browser()
        await browser.signIn(app)
        expect((await browser.fetch(`${app}/api/me`)).status).toBe(200)
        own.pause()
        try {
          const started = Date.now()
          const api = await browser.fetch(`${app}/api/me`)
          expect(api.status).toBe(503)
          expect(await api.json()).toMatchObject({ _tag: "SessionStoreUnavailable" })
          expect(Date.now() - started).toBeLessThan(5_000)
          const page = await browser.fetch(`${app}/page`)
          expect(page.status).toBe(503)
          expect(await page.text()).toContain("temporarily unavailable")
        } finally {
          own.resume()
        }
        expect(await eventually(async () => (await browser.fetch(`${app}/api/me`)).status === 200)).toBe(true)
      },
      { revalidateAfter: "1 hour" },
      { routes: pageRoute }
    )
  }, 30_000)

  it(
    "Redis down: a signed-in user gets 503 (JSON and HttpApi), not 401; a sign-in then fails with 503, not a cookie",
    async () => {
      const doomed = await startRedis()
      await withRouterApp(
        WebSessionStore.layerRedis({ host: "127.0.0.1", port: doomed.port, prefix: "down:" }),
        async ({ app }) => {
          const browser = new Browser()
          await browser.signIn(app)
          await doomed.stop()
          const api = await browser.fetch(`${app}/api/me`)
          expect(api.status).toBe(503)
          expect(await api.json()).toMatchObject({ _tag: "SessionStoreUnavailable" })
          const again = new Browser()
          const callback = await again.signIn(app)
          expect(callback.status).toBe(503)
          expect(again.cookies.has("tmdb_session")).toBe(false)
        }
      )
    },
    30_000
  )

  it("HttpApi's TmdbSignIn answers 503 SessionStoreUnavailable when the store is down", async () => {
    const doomed = await startRedis()
    await withApiApp(MeApiLive, async ({ app }) => {
      const browser = new Browser()
      await browser.signIn(app)
      expect((await browser.fetch(`${app}/api/me`)).status).toBe(200)
      await doomed.stop()
      const answer = await browser.fetch(`${app}/api/me`)
      expect(answer.status).toBe(503)
      expect(await answer.json()).toMatchObject({ _tag: "SessionStoreUnavailable" })
    }, WebSessionStore.layerRedis({ host: "127.0.0.1", port: doomed.port, prefix: "api:" }))
  }, 30_000)
})
