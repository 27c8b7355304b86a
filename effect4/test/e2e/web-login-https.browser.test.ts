/**
 * "Sign in with TMDB" over https in headless Chromium, where a sibling subdomain is the attacker: the app on
 * `https://app.example.test`, the attacker's page on `https://evil.example.test` (a certificate made with openssl for
 * `*.example.test`; Chromium maps the names to 127.0.0.1). The attacker's page plants cookies for `example.test`: the
 * app reads only its `__Host-` cookies, which no sibling can set.
 */
import { NodeHttpServer } from "@effect/platform-node"
import { Context, Effect, Exit, Layer, Option, Scope } from "effect"
import { HttpRouter, HttpServer, HttpServerRequest, HttpServerResponse } from "effect/http"
import { execFileSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync } from "node:fs"
import { createServer as createHttpsServer, type Server } from "node:https"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type Browser, type BrowserContext, chromium, type Page, request } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { AuthService, TmdbConfig, TmdbHttpClient } from "../../src/index.js"
import { FakeTmdb } from "../../src/testing/index.js"
import { CurrentAccount, TmdbWebLogin, WebSessionStore } from "../../src/web/index.js"

const chromiumPath = process.env["CHROMIUM_PATH"] ??
  ["/usr/lib/chromium/chromium", "/usr/bin/chromium"].find((path) => existsSync(path))

let tls: { key: Buffer; cert: Buffer }
let scope: Scope.Closeable
let appUrl: string
let evil: Server
let evilUrl: string
let browser: Browser

/** The app: a home page saying who is signed in, a JSON route that needs a session, the login's routes. */
const appRoutes = Layer.mergeAll(
  HttpRouter.add(
    "GET",
    "/",
    Effect.gen(function*() {
      const web = yield* TmdbWebLogin
      const signedIn = yield* web.current(yield* HttpServerRequest.HttpServerRequest)
      return HttpServerResponse.html(
        `<p id="status">${
          Option.match(signedIn, {
            onNone: () => "You are not signed in.",
            onSome: ({ account }) => `Signed in as ${account.username}`
          })
        }</p>`
      )
    })
  ),
  TmdbWebLogin.router,
  HttpRouter.add("GET", "/api/me", Effect.map(CurrentAccount, (a) => HttpServerResponse.jsonUnsafe(a))).pipe(
    Layer.provide(TmdbWebLogin.requireSignIn())
  )
)

/** The attacker's page: writes the cookies given in its query with `document.cookie`, for all of example.test. */
const evilPage = (cookies: ReadonlyArray<string>) =>
  `<!doctype html><h1>evil</h1><script>${
    cookies.map((cookie) => `document.cookie = ${JSON.stringify(cookie)};`).join("")
  }</script>`

beforeAll(async () => {
  if (chromiumPath === undefined) {
    throw new Error("No Chromium: run `sudo apt-get install -y chromium` or set CHROMIUM_PATH, and run npm test again.")
  }
  const dir = mkdtempSync(join(tmpdir(), "tmdb-web-tls-"))
  execFileSync("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    join(dir, "key.pem"),
    "-out",
    join(dir, "cert.pem"),
    "-days",
    "2",
    "-subj",
    "/CN=example.test",
    "-addext",
    "subjectAltName=DNS:*.example.test,DNS:example.test"
  ], { stdio: "ignore" })
  tls = { key: readFileSync(join(dir, "key.pem")), cert: readFileSync(join(dir, "cert.pem")) }

  scope = Effect.runSync(Scope.make())
  appUrl = await Effect.runPromise(
    Effect.gen(function*() {
      const fake = yield* FakeTmdb.serve()
      const server = yield* Layer.build(
        NodeHttpServer.layer(() => createHttpsServer(tls), { port: 0, host: "127.0.0.1" })
      )
      const address = Context.get(server, HttpServer.HttpServer).address
      const port = address._tag === "UnixPathAddress" ? 0 : address.port
      const publicUrl = `https://app.example.test:${port}`
      const services = yield* Layer.build(
        TmdbWebLogin.layer({ publicUrl, signingKey: "0123456789abcdef0123456789abcdef-test-key" }).pipe(
          Layer.provideMerge(WebSessionStore.layerMemory),
          Layer.provideMerge(AuthService.layer.pipe(
            Layer.provide(TmdbHttpClient.layer),
            Layer.provideMerge(TmdbConfig.layer({
              accessToken: FakeTmdb.defaults.accessToken,
              baseUrl: fake.url,
              webBaseUrl: fake.url
            }))
          ))
        )
      )
      yield* Layer.build(
        HttpRouter.serve(appRoutes, {
          middleware: TmdbWebLogin.securityHeaders,
          disableLogger: true,
          disableListenLog: true
        }).pipe(Layer.provide(Layer.succeedContext(services)), Layer.provide(Layer.succeedContext(server)))
      )
      return publicUrl
    }).pipe(Scope.provide(scope))
  )

  evil = createHttpsServer(tls, (req, res) => {
    const url = new URL(req.url ?? "/", "https://evil.example.test")
    res.writeHead(200, { "content-type": "text/html" })
    res.end(url.pathname === "/frame" ? `<iframe src="${appUrl}/"></iframe>` : evilPage(url.searchParams.getAll("c")))
  })
  await new Promise<void>((resolve) => evil.listen(0, "127.0.0.1", resolve))
  evilUrl = `https://evil.example.test:${(evil.address() as AddressInfo).port}`

  browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ["--host-resolver-rules=MAP *.example.test 127.0.0.1", "--ignore-certificate-errors"]
  })
}, 60_000)

afterAll(async () => {
  await browser?.close()
  evil?.close()
  if (scope !== undefined) await Effect.runPromise(Scope.close(scope, Exit.void))
}, 30_000)

const withContext = async (f: (context: BrowserContext, page: Page) => Promise<void>) => {
  const context = await browser.newContext({ ignoreHTTPSErrors: true })
  try {
    await f(context, await context.newPage())
  } finally {
    await context.close()
  }
}

const status = (page: Page) => page.textContent("#status")

/** Signs in (the fake approves at once); the __Host- session cookie's value. */
const signIn = async (context: BrowserContext, page: Page) => {
  await page.goto(`${appUrl}/auth/tmdb/login?returnTo=%2F`)
  await page.waitForURL(`${appUrl}/`)
  expect(await status(page)).toBe("Signed in as demo")
  return (await context.cookies(appUrl)).find((cookie) => cookie.name === "__Host-tmdb_session")!
}

/** Plants cookies from the attacker's page, for every host of example.test. */
const plant = async (page: Page, cookies: ReadonlyArray<string>) => {
  const query = cookies.map((c) => `c=${encodeURIComponent(c)}`).join("&")
  await page.goto(`${evilUrl}/?${query}`)
  await page.waitForSelector("h1")
}

describe("Sign in with TMDB over https, attacked from a sibling subdomain (Chromium)", () => {
  it("the session cookie is __Host-tmdb_session: Secure, Path=/, host-only", async () => {
    await withContext(async (context, page) => {
      const cookie = await signIn(context, page)
      expect(cookie).toMatchObject({ secure: true, httpOnly: true, sameSite: "Lax", path: "/" })
      expect(cookie.domain).toBe("app.example.test")
      expect((await context.cookies(appUrl)).map((c) => c.name)).not.toContain("tmdb_session")
    })
  }, 60_000)

  it(
    "a session cookie planted from evil.example.test (domain=example.test, path / or /api) does not sign the victim in",
    async () => {
      let attackerCookie = ""
      await withContext(async (context, page) => {
        attackerCookie = (await signIn(context, page)).value
      })
      await withContext(async (context, victim) => {
        await plant(victim, [
          `tmdb_session=${attackerCookie}; domain=example.test; path=/; secure`,
          `tmdb_session=${attackerCookie}; domain=example.test; path=/api; secure`,
          // Refused by the browser itself: a __Host- cookie cannot carry a Domain.
          `__Host-tmdb_session=${attackerCookie}; domain=example.test; path=/; secure`
        ])
        const jar = await context.cookies()
        expect(jar.filter((c) => c.name === "tmdb_session")).toHaveLength(2)
        expect(jar.filter((c) => c.name === "__Host-tmdb_session")).toHaveLength(0)
        await victim.goto(appUrl)
        expect(await status(victim)).toBe("You are not signed in.")
        // The browser sends both planted cookies to /api/me; the app reads neither.
        expect((await victim.goto(`${appUrl}/api/me`))?.status()).toBe(401)
      })
    },
    60_000
  )

  it("a login cookie planted on the callback's path, with the attacker's callback URL, is refused", async () => {
    // The attacker starts a sign-in outside any browser and keeps both halves: the login cookie and the callback URL.
    const attacker = await request.newContext({ ignoreHTTPSErrors: true })
    try {
      const port = new URL(appUrl).port
      const login = await attacker.get(`https://127.0.0.1:${port}/auth/tmdb/login`, { maxRedirects: 0 })
      const loginCookie = /__Host-tmdb_login=([^;]+)/.exec(login.headers()["set-cookie"] ?? "")![1]!
      const approval = await attacker.get(login.headers()["location"]!, { maxRedirects: 0 })
      const callback = approval.headers()["location"]!
      expect(callback.startsWith(`${appUrl}/auth/tmdb/callback?`)).toBe(true)
      await withContext(async (context, victim) => {
        await plant(victim, [
          `tmdb_login=${loginCookie}; domain=example.test; path=/auth/tmdb/callback; secure`,
          `__Host-tmdb_login=${loginCookie}; domain=example.test; path=/; secure`
        ])
        const response = await victim.goto(callback)
        expect(response?.status()).toBe(400)
        expect(await victim.textContent("h1")).toBe("Sign-in refused")
        expect((await context.cookies(appUrl)).find((c) => c.name === "__Host-tmdb_session")).toBeUndefined()
      })
    } finally {
      await attacker.dispose()
    }
  }, 60_000)

  it("the sibling subdomain cannot frame the app (the security headers of its pages)", async () => {
    await withContext(async (_, page) => {
      await page.goto(`${evilUrl}/frame`)
      await page.waitForTimeout(1000)
      const frames = page.frames().filter((f) => f !== page.mainFrame())
      expect(frames).toHaveLength(1)
      expect(await frames[0]!.$("#status").catch(() => null)).toBeNull()
    })
  }, 60_000)
})
