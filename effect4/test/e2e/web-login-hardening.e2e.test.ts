/**
 * The web login's hardening over real sockets on 127.0.0.1 (fetch with a cookie jar of our own): `__Host-` cookies on
 * https, the logout's same-origin rule, security headers, long `returnTo`, a handler's `SessionNotFound`, sign out
 * everywhere, a slow TMDB at sign-out, and weak signing keys. The browser's side (a planted cookie, framing) is in
 * web-login.browser.test.ts.
 */
import { Context, Effect, Layer, Redacted, Schema } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { HttpApi, HttpApiBuilder, HttpApiEndpoint, HttpApiGroup } from "effect/http-api"
import { describe, expect, it, onTestFinished } from "vitest"
import { TmdbClient, UserSession } from "../../src/index.js"
import { FakeTmdb, Fault } from "../../src/testing/index.js"
import {
  layerTmdbAuthHandlers,
  SignedIn,
  TmdbAuthGroup,
  TmdbSignIn,
  TmdbWebLogin,
  WebSessionStore
} from "../../src/web/index.js"
import { Browser, serveOver, services, sessionCount, withApiApp, withRouterApp } from "../support/webApp.js"

const revoke = (fakeUrl: string, sessionId: string) =>
  fetch(`${fakeUrl}/3/authentication/session`, {
    method: "DELETE",
    headers: { authorization: `Bearer ${FakeTmdb.defaults.accessToken}`, "content-type": "application/json" },
    body: JSON.stringify({ session_id: sessionId })
  })

const Anything = Schema.Unknown

/** A route's handler making its own TMDB call with the signed-in session, answering TMDB's answer as JSON. */
const tmdbCall = (path: string) =>
  Effect.gen(function*() {
    const tmdb = yield* TmdbClient
    const session = yield* UserSession
    return HttpServerResponse.jsonUnsafe(yield* tmdb.request({ method: "GET", path, session, response: Anything }))
  })

describe("__Host- cookies on an https public URL", () => {
  it(
    "the session cookie is __Host-tmdb_session; a plain tmdb_session (planted by a sibling subdomain) is not read",
    async () => {
      await withRouterApp(WebSessionStore.layerMemory, async ({ app }) => {
        const browser = new Browser()
        const login = await browser.fetch(`${app}/auth/tmdb/login`)
        const approval = await browser.fetch(login.headers.get("location")!)
        // TMDB sends the browser to the public URL; this test's app serves it on 127.0.0.1.
        const callback = new URL(approval.headers.get("location")!)
        expect(callback.origin).toBe("https://app.example")
        await browser.fetch(`${app}${callback.pathname}${callback.search}`)
        const cookie = browser.setCookies.find((c) => c.startsWith("__Host-tmdb_session="))!
        expect(cookie).toMatch(/; Max-Age=2592000; Path=\/; HttpOnly; Secure; SameSite=Lax$/)
        expect(cookie).not.toMatch(/Domain/i)
        expect((await browser.fetch(`${app}/api/me`)).status).toBe(200)

        // The same valid value under the plain name, as a sibling subdomain can set it, is not read on https.
        const planted = new Browser()
        planted.cookies.set("tmdb_session", browser.cookies.get("__Host-tmdb_session")!)
        expect((await planted.fetch(`${app}/api/me`)).status).toBe(401)
        // Nor is a planted plain login cookie: the callback reads only __Host-tmdb_login.
        const attacker = new Browser()
        const started = await attacker.fetch(`${app}/auth/tmdb/login`)
        const approved = new URL((await attacker.fetch(started.headers.get("location")!)).headers.get("location")!)
        const victim = new Browser()
        victim.cookies.set("tmdb_login", attacker.cookies.get("__Host-tmdb_login")!)
        const refused = await victim.fetch(`${app}${approved.pathname}${approved.search}`)
        expect(refused.status).toBe(400)
      }, { publicUrl: "https://app.example" })
    },
    30_000
  )

  it("cookieName names both cookies (an app under a path, or several apps on one origin)", async () => {
    await withRouterApp(WebSessionStore.layerMemory, async ({ app }) => {
      const login = await fetch(`${app}/auth/tmdb/login`, { redirect: "manual" })
      expect(login.headers.get("set-cookie")).toMatch(/^__Host-shop_login=[^;]+; Max-Age=900; Path=\/; /)
    }, { publicUrl: "https://x.example/shop", cookieName: "shop_session" })
  }, 30_000)
})

describe("an app under a path (publicUrl https://x/app, the proxy strips /app)", () => {
  it("the callback, the sign-in redirect and the sign-out lead back under the path", async () => {
    await withRouterApp(
      WebSessionStore.layerMemory,
      async ({ app }) => {
        const under = (url: string) => {
          const target = new URL(url)
          return `${app}${target.pathname.replace(/^\/app/, "")}${target.search}`
        }
        const browser = new Browser()
        const page = await browser.fetch(`${app}/page`)
        expect(page.headers.get("location")).toBe("/app/auth/tmdb/login?returnTo=%2Fpage")
        const login = await browser.fetch(`${app}/auth/tmdb/login?returnTo=%2Fpage`)
        const approval = await browser.fetch(login.headers.get("location")!)
        expect(new URL(approval.headers.get("location")!).pathname).toBe("/app/auth/tmdb/callback")
        const callback = await browser.fetch(under(approval.headers.get("location")!))
        expect(callback.headers.get("location")).toBe("/app/page")
        // The public origin is http://127.0.0.1 (port 80): the browser would send Sec-Fetch-Site for its own page.
        const logout = await browser.fetch(`${app}/auth/tmdb/logout`, {
          method: "POST",
          headers: { "sec-fetch-site": "same-origin" }
        })
        expect([logout.status, logout.headers.get("location")]).toEqual([303, "/app/"])
      },
      { publicUrl: "http://127.0.0.1/app" },
      {
        routes: HttpRouter.add("GET", "/page", Effect.as(UserSession, HttpServerResponse.text("page"))).pipe(
          Layer.provide(TmdbWebLogin.requireSignIn({ unauthenticated: "redirect" }))
        )
      }
    )
  }, 30_000)
})

describe("logout: from the app's own pages only", () => {
  const cases: ReadonlyArray<readonly [string, Record<string, string>, number]> = [
    ["no Origin, Referer or Sec-Fetch-Site (curl)", {}, 403],
    ["Origin: null alone", { origin: "null" }, 403],
    ["Sec-Fetch-Site: same-site (a sibling subdomain)", { "sec-fetch-site": "same-site" }, 403],
    ["Sec-Fetch-Site: none", { "sec-fetch-site": "none" }, 403],
    ["a Referer on another origin", { referer: "https://evil.example/page" }, 403],
    ["Origin: null with Sec-Fetch-Site: same-origin", { origin: "null", "sec-fetch-site": "same-origin" }, 303],
    ["Sec-Fetch-Site: same-origin without Origin", { "sec-fetch-site": "same-origin" }, 303]
  ]
  for (const [name, headers, status] of cases) {
    it(`${name}: ${status}`, async () => {
      await withRouterApp(WebSessionStore.layerMemory, async ({ app, fake }) => {
        const browser = new Browser()
        await browser.signIn(app)
        const logout = await browser.fetch(`${app}/auth/tmdb/logout`, { method: "POST", headers })
        expect(logout.status).toBe(status)
        expect((await browser.fetch(`${app}/api/me`)).status).toBe(status === 303 ? 401 : 200)
        expect(await sessionCount(fake)).toBe(status === 303 ? 0 : 1)
      })
    }, 30_000)
  }

  it("a Referer on the app's origin without Origin or Sec-Fetch-Site is accepted", async () => {
    await withRouterApp(WebSessionStore.layerMemory, async ({ app }) => {
      const browser = new Browser()
      await browser.signIn(app)
      const logout = await browser.fetch(`${app}/auth/tmdb/logout`, {
        method: "POST",
        headers: { referer: `${app}/settings` }
      })
      expect(logout.status).toBe(303)
    })
  }, 30_000)

  it("a sign-out stands: a request still checking the session with TMDB does not write it back", async () => {
    await withRouterApp(WebSessionStore.layerMemory, async ({ app, fake }) => {
      const browser = new Browser()
      await browser.signIn(app)
      const stolen = new Browser()
      stolen.cookies.set("tmdb_session", browser.cookies.get("tmdb_session")!)
      await Effect.runPromise(fake.fail("GET /3/account", Fault.Delay({ duration: "1500 millis" })))
      await new Promise((resolve) => setTimeout(resolve, 50))
      // In flight: the check with TMDB (revalidateAfter has passed), answered after the sign-out below.
      const inFlight = stolen.fetch(`${app}/api/me`)
      await new Promise((resolve) => setTimeout(resolve, 300))
      const logout = await browser.fetch(`${app}/auth/tmdb/logout`, { method: "POST", headers: { origin: app } })
      expect(logout.status).toBe(303)
      await inFlight
      expect((await stolen.fetch(`${app}/api/me`)).status).toBe(401)
    }, { revalidateAfter: "10 millis" })
  }, 30_000)

  it("TMDB's delete waits at most 3 s in the request, then completes in the background", async () => {
    await withRouterApp(WebSessionStore.layerMemory, async ({ app, fake }) => {
      const browser = new Browser()
      await browser.signIn(app)
      await Effect.runPromise(fake.fail("DELETE /3/authentication/session", Fault.Delay({ duration: "8 seconds" })))
      const started = Date.now()
      const logout = await browser.fetch(`${app}/auth/tmdb/logout`, { method: "POST", headers: { origin: app } })
      const took = Date.now() - started
      expect(logout.status).toBe(303)
      expect(took).toBeGreaterThanOrEqual(2_900)
      // Not waiting for TMDB's answer (8 s): a bound a busy machine keeps.
      expect(took).toBeLessThan(7_000)
      expect(await sessionCount(fake)).toBe(1)
      for (let i = 0; i < 150 && (await sessionCount(fake)) > 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      expect(await sessionCount(fake)).toBe(0)
    })
  }, 40_000)

  it(
    "sign out everywhere (POST logout?everywhere=true) ends every session of the account, here and at TMDB",
    async () => {
      await withRouterApp(WebSessionStore.layerMemory, async ({ app, fake }) => {
        const laptop = new Browser()
        const phone = new Browser()
        await laptop.signIn(app)
        await phone.signIn(app)
        expect(await sessionCount(fake)).toBe(2)
        const logout = await phone.fetch(`${app}/auth/tmdb/logout?everywhere=true`, {
          method: "POST",
          headers: { origin: app }
        })
        expect(logout.status).toBe(303)
        expect((await laptop.fetch(`${app}/api/me`)).status).toBe(401)
        expect((await phone.fetch(`${app}/api/me`)).status).toBe(401)
        expect(await sessionCount(fake)).toBe(0)
      })
    },
    30_000
  )

  it("forgetAccount(accountId) ends the account's sessions and says how many", async () => {
    await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const { app, context, fake, server } = yield* services(WebSessionStore.layerMemory, {})
      const web = Context.get(context, TmdbWebLogin)
      yield* serveOver(Layer.mergeAll(TmdbWebLogin.router, meRoute), context, server)
      const browsers = [new Browser(), new Browser(), new Browser()]
      yield* Effect.promise(() => Promise.all(browsers.map((b) => b.signIn(app))))
      expect(yield* web.forgetAccount(1000)).toBe(3)
      expect(yield* web.forgetAccount(1000)).toBe(0)
      for (const browser of browsers) {
        expect((yield* Effect.promise(() => browser.fetch(`${app}/api/me`))).status).toBe(401)
      }
      expect((yield* fake.sessions).length).toBe(0)
    })))
  }, 30_000)
})

const meRoute = HttpRouter.add("GET", "/api/me", Effect.as(UserSession, HttpServerResponse.text("me"))).pipe(
  Layer.provide(TmdbWebLogin.requireSignIn())
)

describe("security headers", () => {
  it(
    "the login's pages and redirects carry no-framing, nosniff and a strict CSP; the callback no-referrer",
    async () => {
      await withRouterApp(WebSessionStore.layerMemory, async ({ app }) => {
        const browser = new Browser()
        const login = await browser.fetch(`${app}/auth/tmdb/login`)
        expect(login.headers.get("x-frame-options")).toBe("DENY")
        const approval = await browser.fetch(login.headers.get("location")!)
        const callback = await browser.fetch(approval.headers.get("location")!)
        expect(callback.headers.get("referrer-policy")).toBe("no-referrer")
        expect(callback.headers.get("x-frame-options")).toBe("DENY")
        const refused = await fetch(`${app}/auth/tmdb/callback?request_token=x&approved=true`)
        expect(refused.status).toBe(400)
        expect(refused.headers.get("x-frame-options")).toBe("DENY")
        expect(refused.headers.get("x-content-type-options")).toBe("nosniff")
        expect(refused.headers.get("content-security-policy")).toContain("frame-ancestors 'none'")
        expect(refused.headers.get("content-security-policy")).toContain("default-src 'none'")
        expect(refused.headers.get("referrer-policy")).toBe("no-referrer")
      })
    },
    30_000
  )

  it("TmdbWebLogin.securityHeaders adds them to the app's own pages, keeping a CSP the page sets", async () => {
    const page = Layer.mergeAll(
      HttpRouter.add("GET", "/", HttpServerResponse.html("<p>home</p>")),
      HttpRouter.add(
        "GET",
        "/own-csp",
        HttpServerResponse.html("<p>x</p>").pipe(
          HttpServerResponse.setHeader("content-security-policy", "default-src 'self'; frame-ancestors 'none'"),
          Effect.succeed
        )
      )
    )
    // As a server middleware (HttpRouter.serve(routes, { middleware })), where the response is already on its way
    // when the app's effect ends; error responses included.
    const { dispose, handler } = HttpRouter.toWebHandler(page, {
      middleware: TmdbWebLogin.securityHeaders,
      disableLogger: true
    })
    onTestFinished(dispose)
    const home = await handler(new Request("http://127.0.0.1/"))
    expect(home.headers.get("x-frame-options")).toBe("DENY")
    expect(home.headers.get("content-security-policy")).toBe("frame-ancestors 'none'")
    expect(home.headers.get("x-content-type-options")).toBe("nosniff")
    const missing = await handler(new Request("http://127.0.0.1/missing"))
    expect(missing.status).toBe(404)
    expect(missing.headers.get("x-frame-options")).toBe("DENY")
    const own = await handler(new Request("http://127.0.0.1/own-csp"))
    expect(own.headers.get("content-security-policy")).toBe("default-src 'self'; frame-ancestors 'none'")
    expect(own.headers.get("x-frame-options")).toBe("DENY")
  })
})
describe("long returnTo", () => {
  it("a 3,001-character returnTo keeps the login cookie small and the sign-in works (back to /)", async () => {
    await withRouterApp(WebSessionStore.layerMemory, async ({ app }) => {
      const browser = new Browser()
      const callback = await browser.signIn(app, `/${"x".repeat(3000)}`)
      const loginCookie = browser.setCookies.find((c) => c.startsWith("tmdb_login=") && !/Max-Age=0/.test(c))!
      expect(loginCookie.length).toBeLessThan(600)
      expect(callback.status).toBe(303)
      expect(callback.headers.get("location")).toBe("/")
      expect((await browser.fetch(`${app}/api/me`)).status).toBe(200)
    })
  }, 30_000)
})

describe("a handler's SessionNotFound (the session was revoked at TMDB)", () => {
  it("requireSignIn: 401 JSON 'session forgotten', logged at info, the stored session dropped", async () => {
    const logs: Array<{ level: string; message: string }> = []
    await withRouterApp(
      WebSessionStore.layerMemory,
      async ({ app, fake }) => {
        const browser = new Browser()
        await browser.signIn(app)
        expect((await browser.fetch(`${app}/api/account`)).status).toBe(200)
        const [live] = await Effect.runPromise(fake.sessions)
        await revoke(fake.url, Redacted.value(live!.sessionId))
        const answer = await browser.fetch(`${app}/api/account`)
        expect(answer.status).toBe(401)
        expect(await answer.json()).toEqual({
          _tag: "Unauthorized",
          message: "Your TMDB session has ended (session forgotten): sign in with TMDB again."
        })
        expect(logs).toContainEqual({
          level: "INFO",
          message: "TmdbWebLogin: session forgotten: TMDB answered that it no longer knows the session"
        })
        // Forgotten: the next request is not signed in, without asking TMDB.
        const asked = (await Effect.runPromise(fake.requests)).length
        expect((await browser.fetch(`${app}/api/me`)).status).toBe(401)
        expect((await Effect.runPromise(fake.requests)).length).toBe(asked)
      },
      {},
      {
        routes: HttpRouter.add("GET", "/api/account", tmdbCall("/3/account")).pipe(
          Layer.provide(TmdbWebLogin.requireSignIn())
        ),
        logs
      }
    )
  }, 30_000)

  it("a 404 for something else (TMDB's code 34) is not a missing session: the user stays signed in", async () => {
    await withRouterApp(
      WebSessionStore.layerMemory,
      async ({ app }) => {
        const browser = new Browser()
        await browser.signIn(app)
        const missing = await browser.fetch(`${app}/api/movie`)
        expect(missing.status).toBe(500)
        expect((await browser.fetch(`${app}/api/me`)).status).toBe(200)
      },
      {},
      {
        routes: HttpRouter.add("GET", "/api/movie", tmdbCall("/3/movie/0")).pipe(
          Layer.provide(TmdbWebLogin.requireSignIn())
        )
      }
    )
  }, 30_000)

  it("requireSignIn({ unauthenticated: 'redirect' }): a redirect to the login, back to the page", async () => {
    await withRouterApp(
      WebSessionStore.layerMemory,
      async ({ app, fake }) => {
        const browser = new Browser()
        await browser.signIn(app)
        const [live] = await Effect.runPromise(fake.sessions)
        await revoke(fake.url, Redacted.value(live!.sessionId))
        const answer = await browser.fetch(`${app}/page`)
        expect(answer.status).toBe(302)
        expect(answer.headers.get("location")).toBe("/auth/tmdb/login?returnTo=%2Fpage")
      },
      {},
      {
        routes: HttpRouter.add("GET", "/page", tmdbCall("/3/account")).pipe(
          Layer.provide(TmdbWebLogin.requireSignIn({ unauthenticated: "redirect" }))
        )
      }
    )
  }, 30_000)

  it("HttpApi: TmdbWebLogin.orUnauthorized turns it into Unauthorized (401) and forgets the session", async () => {
    class Me extends HttpApiGroup.make("me")
      .add(HttpApiEndpoint.get("account", "/api/account", { success: Schema.Struct({ username: Schema.String }) }))
      .middleware(TmdbSignIn)
    {}
    class Api extends HttpApi.make("app").add(TmdbAuthGroup).add(Me) {}
    const Account = Schema.Struct({ username: Schema.String })
    const MeLive = HttpApiBuilder.group(
      Api,
      "me",
      (handlers) =>
        handlers.handle("account", () =>
          Effect.gen(function*() {
            const { session } = yield* SignedIn
            const tmdb = yield* TmdbClient
            return yield* tmdb.request({ method: "GET", path: "/3/account", session, response: Account })
          }).pipe(
            TmdbWebLogin.orUnauthorized,
            // What else TMDB can answer is this app's to map; here, a defect.
            Effect.catchIf((error) => error._tag !== "Unauthorized", Effect.die)
          ))
    )
    const ApiLive = HttpApiBuilder.layer(Api).pipe(
      Layer.provide([layerTmdbAuthHandlers(Api), MeLive]),
      Layer.provide(TmdbSignIn.layer)
    )
    await withApiApp(ApiLive, async ({ app, fake }) => {
      const browser = new Browser()
      await browser.signIn(app)
      expect(await (await browser.fetch(`${app}/api/account`)).json()).toEqual({ username: "demo" })
      const [live] = await Effect.runPromise(fake.sessions)
      await revoke(fake.url, Redacted.value(live!.sessionId))
      const answer = await browser.fetch(`${app}/api/account`)
      expect(answer.status).toBe(401)
      expect(await answer.json()).toMatchObject({
        _tag: "Unauthorized",
        message: expect.stringContaining("forgotten")
      })
      const asked = (await Effect.runPromise(fake.requests)).length
      expect((await browser.fetch(`${app}/api/account`)).status).toBe(401)
      expect((await Effect.runPromise(fake.requests)).length).toBe(asked)
    })
  }, 30_000)
})
