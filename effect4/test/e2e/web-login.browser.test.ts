/**
 * "Sign in with TMDB" in a real browser: headless Chromium (Debian's package, provisioned by test/support/provision.ts)
 * driven by playwright-core against the example app (`npm run example:web`, a child process, offline against FakeTmdb
 * with its asking approval page).
 */
import { existsSync, mkdirSync } from "node:fs"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { fileURLToPath } from "node:url"
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type ExampleApp, startExampleApp } from "../support/exampleApp.js"

const screenshot = fileURLToPath(new URL("../../test-output/web-login-signed-in.png", import.meta.url))

const chromiumPath = process.env["CHROMIUM_PATH"] ??
  ["/usr/lib/chromium/chromium", "/usr/bin/chromium"].find((path) => existsSync(path))

let app: ExampleApp
let appUrl: string
const appOutput = () => app.output()
let browser: Browser

beforeAll(async () => {
  if (chromiumPath === undefined) {
    throw new Error("No Chromium: run `sudo apt-get install -y chromium` or set CHROMIUM_PATH, and run npm test again.")
  }
  // Spans to standard output too, so that the test can read every log line and span for secrets.
  app = await startExampleApp({ OTEL_TRACES_EXPORTER: "console" })
  appUrl = app.url
  browser = await chromium.launch({ executablePath: chromiumPath, headless: true })
}, 60_000)

afterAll(async () => {
  await browser?.close()
  await app?.stop()
}, 30_000)

const withContext = async (f: (context: BrowserContext, page: Page) => Promise<void>) => {
  const context = await browser.newContext()
  try {
    await f(context, await context.newPage())
  } finally {
    await context.close()
  }
}

/** From the app's home page to TMDB's (the fake's) approval page. */
const startSignIn = async (page: Page) => {
  await page.goto(appUrl)
  await page.click("#sign-in")
  await page.waitForSelector("#approve")
}

const signIn = async (page: Page) => {
  await startSignIn(page)
  await Promise.all([page.waitForURL(`${appUrl}/`), page.click("#approve")])
}

const status = (page: Page) => page.textContent("#status")

describe("Sign in with TMDB in Chromium (npm run example:web)", () => {
  it(
    "signs in on TMDB's approval page, stays signed in on reload, signs out; cookies are HttpOnly, SameSite=Lax, opaque",
    async () => {
      await withContext(async (context, page) => {
        expect(await (await page.goto(appUrl))?.status()).toBe(200)
        expect(await status(page)).toBe("You are not signed in.")
        await signIn(page)
        expect(await status(page)).toBe("Signed in as demo")
        mkdirSync(fileURLToPath(new URL("../../test-output", import.meta.url)), { recursive: true })
        await page.screenshot({ path: screenshot })

        const cookies = await context.cookies(appUrl)
        const session = cookies.find((cookie) => cookie.name === "tmdb_session")
        expect(session).toMatchObject({ httpOnly: true, sameSite: "Lax", secure: false, path: "/" })
        // An opaque signed id, not TMDB's session id (40 hex characters).
        expect(session!.value).toMatch(/^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/)
        expect(session!.expires - Date.now() / 1000).toBeGreaterThan(29 * 24 * 3600)
        expect(cookies.find((cookie) => cookie.name === "tmdb_login")).toBeUndefined()

        await page.reload()
        expect(await status(page)).toBe("Signed in as demo")
        const me = await page.request.get(`${appUrl}/api/me`)
        expect(me.status()).toBe(200)
        expect(await me.json()).toMatchObject({ username: "demo" })

        await Promise.all([page.waitForURL(`${appUrl}/`), page.click("#sign-out")])
        expect(await status(page)).toBe("You are not signed in.")
        expect((await context.cookies(appUrl)).find((cookie) => cookie.name === "tmdb_session")).toBeUndefined()
        expect((await page.request.get(`${appUrl}/api/me`)).status()).toBe(401)
      })
    },
    60_000
  )

  it("declining on TMDB's page shows the refusal and signs nobody in", async () => {
    await withContext(async (context, page) => {
      await startSignIn(page)
      const [response] = await Promise.all([
        page.waitForResponse((r) => r.url().startsWith(`${appUrl}/auth/tmdb/callback`)),
        page.click("#deny")
      ])
      expect(response.status()).toBe(403)
      expect(await page.textContent("h1")).toBe("Sign-in declined")
      expect((await context.cookies(appUrl)).find((cookie) => cookie.name === "tmdb_session")).toBeUndefined()
      await page.goto(appUrl)
      expect(await status(page)).toBe("You are not signed in.")
    })
  }, 60_000)

  it(
    "login CSRF: a callback URL with a token started in another browser is refused (400), nothing is created",
    async () => {
      await withContext(async (_, attacker) => {
        // The attacker starts a sign-in and approves the token with their own account, but stops TMDB's redirect
        // back: the callback URL, which would sign in whoever opens it, goes to the victim instead.
        await startSignIn(attacker)
        let callback = ""
        const approvePattern = (url: URL) => /^\/authenticate\/[^/]+\/allow$/.test(url.pathname)
        await attacker.route(approvePattern, async (route) => {
          const answer = await route.fetch({ maxRedirects: 0 })
          callback = answer.headers()["location"] ?? ""
          await route.fulfill({ status: 200, contentType: "text/html", body: "<h1>stopped before the callback</h1>" })
        })
        await attacker.click("#approve")
        await attacker.waitForSelector("text=stopped before the callback")
        expect(new URL(callback).searchParams.get("approved")).toBe("true")

        await withContext(async (victimContext, victim) => {
          const response = await victim.goto(callback)
          expect(response?.status()).toBe(400)
          expect(await victim.textContent("h1")).toBe("Sign-in refused")
          expect((await victimContext.cookies(appUrl)).find((cookie) => cookie.name === "tmdb_session")).toBeUndefined()
          await victim.goto(appUrl)
          expect(await status(victim)).toBe("You are not signed in.")
        })

        // The approved token was not used up: the browser that started the sign-in still completes it.
        await attacker.goto(callback)
        expect(await status(attacker)).toBe("Signed in as demo")
      })
    },
    60_000
  )

  it("open redirect: returnTo=https://evil.example (and //evil.example) lands on the app's /", async () => {
    for (const returnTo of ["https://evil.example/steal", "//evil.example/steal"]) {
      await withContext(async (_, page) => {
        await page.goto(`${appUrl}/auth/tmdb/login?returnTo=${encodeURIComponent(returnTo)}`)
        await page.waitForSelector("#approve")
        await Promise.all([page.waitForURL(`${appUrl}/`), page.click("#approve")])
        expect(new URL(page.url()).origin).toBe(new URL(appUrl).origin)
        expect(await status(page)).toBe("Signed in as demo")
      })
    }
  }, 60_000)

  it(
    "cross-site logout: a form on another origin posting to the logout is refused; the user stays signed in",
    async () => {
      const attackerSite: Server = createServer((_, response) => {
        response.writeHead(200, { "content-type": "text/html" })
        response.end(
          `<!doctype html><form id="f" method="post" action="${appUrl}/auth/tmdb/logout"></form>` +
            `<script>document.getElementById("f").submit()</script>`
        )
      })
      await new Promise<void>((resolve) => attackerSite.listen(0, "127.0.0.1", resolve))
      try {
        await withContext(async (context, page) => {
          await signIn(page)
          const attacker = `http://127.0.0.1:${(attackerSite.address() as AddressInfo).port}/`
          const [response] = await Promise.all([
            page.waitForResponse((r) => r.url() === `${appUrl}/auth/tmdb/logout`),
            page.goto(attacker)
          ])
          expect(response.status()).toBe(403)
          await page.goto(appUrl)
          expect(await status(page)).toBe("Signed in as demo")
          expect((await context.cookies(appUrl)).find((cookie) => cookie.name === "tmdb_session")).toBeDefined()
        })
      } finally {
        attackerSite.close()
      }
    },
    60_000
  )

  it("the request token reaches neither the app's request log nor its spans", async () => {
    await withContext(async (_, page) => {
      await startSignIn(page)
      // The approval page's URL on TMDB (the fake) carries the token: /authenticate/{token}?redirect_to=...
      const token = new URL(page.url()).pathname.split("/")[2]!
      expect(token).toMatch(/^[0-9a-f]{40}$/)
      const before = appOutput().length
      await Promise.all([page.waitForURL(`${appUrl}/`), page.click("#approve")])
      expect(await status(page)).toBe("Signed in as demo")
      await new Promise((resolve) => setTimeout(resolve, 500))
      const output = appOutput().slice(before)
      // The app did log and trace this sign-in (the home page it landed on), just not the callback's URL.
      // Effect 4's logger prints a log line's annotations as an object (0.x: `http.url: /`).
      expect(output).toContain("'http.url': '/'")
      expect(output).toContain("TmdbWebLogin.callback")
      expect(output).toContain("'http.request.method': 'GET'")
      expect(output).not.toContain(token)
      expect(output).not.toContain("/auth/tmdb/callback?")
    })
  }, 60_000)

  it("the app's pages cannot be framed: a same-site page framing the app shows nothing of it", async () => {
    const framing: Server = createServer((_, response) => {
      response.writeHead(200, { "content-type": "text/html" })
      response.end(
        `<!doctype html><h1>framing</h1><iframe id="app" src="${appUrl}/"></iframe>` +
          `<iframe id="login" src="${appUrl}/auth/tmdb/callback"></iframe>`
      )
    })
    await new Promise<void>((resolve) => framing.listen(0, "127.0.0.1", resolve))
    try {
      await withContext(async (_, page) => {
        await signIn(page)
        const framed: Array<string> = []
        page.on("response", (response) => {
          if (response.url().startsWith(appUrl)) framed.push(response.headers()["x-frame-options"] ?? "none")
        })
        await page.goto(`http://127.0.0.1:${(framing.address() as AddressInfo).port}/`)
        await page.waitForTimeout(1000)
        expect(framed).toEqual(["DENY", "DENY"])
        for (const frame of page.frames().filter((f) => f !== page.mainFrame())) {
          expect(await frame.$("#status").catch(() => null)).toBeNull()
          expect(await frame.$("#sign-out").catch(() => null)).toBeNull()
        }
      })
    } finally {
      framing.close()
    }
  }, 60_000)

  it("an unknown path gets the app's small 404 page, with the security headers", async () => {
    await withContext(async (_, page) => {
      const response = await page.goto(`${appUrl}/no/such/page`)
      expect(response?.status()).toBe(404)
      expect(response?.headers()["x-frame-options"]).toBe("DENY")
      expect(await status(page)).toBe("There is no such page here.")
    })
  }, 60_000)
})
