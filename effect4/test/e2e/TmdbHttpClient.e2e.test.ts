/**
 * TmdbHttpClient over a bare node:http server on 127.0.0.1 that counts connections: the connection limit is the
 * admission cap, connections are kept alive, and TmdbClient takes the lean exchange.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Context, DateTime, Duration, Effect, Fiber, Layer, Schema } from "effect"
import { FetchHttpClient, HttpClient } from "effect/http"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { AuthService, TmdbClient, TmdbConfig, type TmdbConfigSettings, TmdbHttpClient } from "../../src/index.js"
import { leanTransportOf } from "../../src/internal/wireExchange.js"
import { FakeTmdb, Fault } from "../../src/testing/index.js"

/** A server that answers every request after `delayMillis`, counting connections and requests in flight; `/big/N`
 * answers a JSON body of N bytes, written in 64 KB chunks. */
const countingServer = (delayMillis: number) =>
  Effect.acquireRelease(
    Effect.callback<
      {
        readonly url: string
        readonly stats: { connections: number; inFlight: number; maxInFlight: number }
        readonly server: Http.Server
      }
    >((resume) => {
      const stats = { connections: 0, inFlight: 0, maxInFlight: 0 }
      const server = Http.createServer((request, response) => {
        stats.inFlight += 1
        stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight)
        request.resume()
        setTimeout(() => {
          stats.inFlight -= 1
          const path = request.url ?? ""
          const declared = /^\/declared\/(\d+)/.exec(path)
          if (declared !== null) {
            // Declared up front: a client can refuse it before reading.
            const body = `{"pad":"${"x".repeat(Number(declared[1]) - 10)}"}`
            response.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) })
            return response.end(body)
          }
          if (path === "/cut") {
            // Half an answer, then the connection drops.
            response.writeHead(200, { "content-type": "application/json" })
            response.write("{\"success\":true,\"pad\":\"")
            return setTimeout(() => response.socket?.destroy(), 20)
          }
          if (path === "/split") {
            // "é" (two bytes in UTF-8) split across two chunks.
            const bytes = Buffer.from("{\"name\":\"Amélie\"}")
            const at = bytes.indexOf(0xc3) + 1
            response.writeHead(200, { "content-type": "application/json" })
            response.write(bytes.subarray(0, at))
            return setTimeout(() => response.end(bytes.subarray(at)), 20)
          }
          if (path === "/empty") {
            response.writeHead(204)
            return response.end()
          }
          const big = /^\/big\/(\d+)/.exec(path)
          response.writeHead(200, { "content-type": "application/json" })
          if (big === null) return response.end(JSON.stringify({ success: true, path: request.url }))
          // Chunked, without a content-length: the client counts what it reads.
          let left = Number(big[1])
          response.write("{\"success\":true,\"pad\":\"")
          const more = () => {
            while (left > 0) {
              const n = Math.min(left, 65536)
              left -= n
              if (!response.write("x".repeat(n))) return response.once("drain", more)
            }
            response.end("\"}")
          }
          more()
        }, delayMillis)
      })
      server.on("connection", () => (stats.connections += 1))
      server.listen(0, "127.0.0.1", () =>
        resume(Effect.succeed({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, stats, server })))
    }),
    ({ server }) =>
      Effect.callback<void>((resume) => {
        server.closeAllConnections()
        server.close(() =>
          resume(Effect.void)
        )
      })
  )

const Answer = Schema.Struct({ success: Schema.Boolean, path: Schema.String })

/** The server's open connections, once they are all closed or 10 s have passed. */
const openConnectionsAfterClosing = (server: Http.Server) => {
  const open = Effect.callback<number>((resume) => {
    server.getConnections((_, count) => resume(Effect.succeed(count)))
  })
  return Effect.gen(function*() {
    const deadline = Date.now() + 10_000
    while ((yield* open) > 0 && Date.now() < deadline) yield* Effect.sleep("20 millis")
    return yield* open
  })
}

describe("TmdbHttpClient", () => {
  it.live(
    "opens as many connections as admission lets requests in flight, and keeps them alive",
    () =>
      Effect.gen(function*() {
        const { stats, url } = yield* countingServer(50)
        const context = yield* Layer.build(TmdbClient.layer.pipe(
          Layer.provideMerge(TmdbHttpClient.layer),
          Layer.provideMerge(TmdbConfig.layer({ accessToken: "token", baseUrl: url, admission: { maxInFlight: 4 } }))
        ))
        const tmdb = Context.get(context, TmdbClient)
        // TmdbClient takes the lean transport of this client.
        expect(leanTransportOf(Context.get(context, HttpClient.HttpClient))).toBeDefined()
        const request = tmdb.request({ method: "GET", path: "/3/configuration", query: { page: 1 }, response: Answer })
        const answers = yield* Effect.all(Array.from({ length: 40 }, () => request), { concurrency: "unbounded" })
        expect(answers.every((a) => a.path === "/3/configuration?page=1")).toBe(true)
        expect(stats.maxInFlight).toBeLessThanOrEqual(4)
        expect(stats.connections).toBe(4)
        yield* Effect.all(Array.from({ length: 8 }, () => request), { concurrency: "unbounded" })
        expect(stats.connections).toBe(4)
      }).pipe(Effect.scoped),
    20_000
  )

  it.live(
    "is an HttpClient anyone can use: the platform's undici client, on an agent without the limit",
    () =>
      Effect.gen(function*() {
        const { stats, url } = yield* countingServer(0)
        const client = yield* TmdbHttpClient.make({ connections: 2 })
        const responses = yield* Effect.all(
          Array.from({ length: 6 }, (_, i) => Effect.flatMap(client.get(`${url}/x/${i}`), (r) => r.json)),
          { concurrency: "unbounded" }
        )
        expect(responses).toHaveLength(6)
        // The limit is for TmdbClient's requests: these six went out at once.
        expect(stats.connections).toBe(6)
      }).pipe(Effect.scoped),
    20_000
  )

  // TmdbClient's fused path (lean transport, in-process limiter, live clock): admission without effects.
  const authOn = (url: string, maxInFlight: number) =>
    Effect.map(
      Layer.build(AuthService.layer.pipe(
        Layer.provide(TmdbHttpClient.layer),
        Layer.provide(
          TmdbConfig.layer({ accessToken: FakeTmdb.defaults.accessToken, baseUrl: url, admission: { maxInFlight } })
        )
      )),
      Context.get(AuthService)
    )

  it.live(
    "interrupting requests queued for a permit or on the wire gives every permit back",
    () =>
      Effect.gen(function*() {
        const server = yield* FakeTmdb.serve()
        const auth = yield* authOn(server.url, 2)
        yield* server.fail(
          "GET /3/authentication/guest_session/new",
          Fault.Delay({ duration: "10 seconds" }),
          Fault.Delay({ duration: "10 seconds" })
        )
        // Two on the wire (slow), three queued behind them.
        const fibers = yield* Effect.all(Array.from({ length: 5 }, () => Effect.forkChild(auth.createGuestSession)))
        yield* Effect.sleep("200 millis")
        yield* Fiber.interruptAll(fibers)
        // Both permits are free again: two requests at once are answered at once.
        const started = Date.now()
        yield* Effect.all([auth.createRequestToken, auth.createRequestToken], { concurrency: "unbounded" })
        expect(Date.now() - started).toBeLessThan(2000)
      }).pipe(Effect.scoped),
    20_000
  )

  it.live(
    "after a 429 (a provisional rate), session/new paced by admission still succeeds",
    () =>
      Effect.gen(function*() {
        const server = yield* FakeTmdb.serve()
        const auth = yield* authOn(server.url, 20)
        // An answer, then a 429: a provisional rate (1 a second, from that one answer) paces the next requests (the
        // effect path) until it is reverted.
        yield* auth.validateKey
        yield* server.fail("GET /3/authentication/token/new", Fault.RateLimited({ retryAfter: 1 }))
        for (let i = 0; i < 3; i++) {
          yield* auth.login({ username: "demo", password: FakeTmdb.defaults.user.password })
        }
        expect(yield* server.sessions).toHaveLength(3)
      }).pipe(Effect.scoped),
    20_000
  )

  /**
   * Ten request tokens at once, two in flight, the first `limited` answers 429 (`Retry-After: 1`): all ten succeed;
   * the server's log.
   */
  const tenTokensAfter = (limited: number) =>
    Effect.gen(function*() {
      const server = yield* FakeTmdb.serve()
      const auth = yield* authOn(server.url, 2)
      yield* server.fail(
        "GET /3/authentication/token/new",
        ...Array.from({ length: limited }, () => Fault.RateLimited({ retryAfter: 1 }))
      )
      const tokens = yield* Effect.all(Array.from({ length: 10 }, () => auth.createRequestToken), {
        concurrency: "unbounded"
      })
      expect(tokens).toHaveLength(10)
      return yield* server.requests
    })

  it.live("a lone 429 is retried alone: the queued requests go on meanwhile, none fails", () =>
    Effect.gen(function*() {
      const log = yield* tenTokensAfter(1)
      const limited = log.find((r) => r.status === 429)!
      // The nine others were answered before the 429's own second was over: no one waited with it.
      const meanwhile = log.filter((r) =>
        r.status === 200 && Duration.toMillis(DateTime.distance(limited.at, r.at)) < 900
      )
      expect(meanwhile.length).toBeGreaterThanOrEqual(9)
      expect(log.filter((r) => r.status === 200)).toHaveLength(10)
    }).pipe(Effect.scoped), 20_000)

  it.live(
    "429s in a row (a limit confirmed) hold every queued request back for its Retry-After; none fails",
    () =>
      Effect.gen(function*() {
        // Five in a row: a limit, while nothing is known of the noise (docs/admission.md).
        const log = yield* tenTokensAfter(5)
        const limited = log.filter((r) => r.status === 429).at(-1)!
        const after = log.filter((r) => DateTime.isGreaterThan(r.at, limited.at))
        // Answers after the fifth 429 came only once its second was over (one request may have been on the wire).
        const early = after.filter((r) => Duration.toMillis(DateTime.distance(limited.at, r.at)) < 900)
        expect(early.length).toBeLessThanOrEqual(1)
        expect(log.filter((r) => r.status === 200)).toHaveLength(10)
      }).pipe(Effect.scoped),
    20_000
  )

  it.live(
    "layerFetch: TmdbClient's requests take the lean fetch exchange, with the layer's Fetch and RequestInit; the app's own requests the platform's FetchHttpClient with them too",
    () =>
      Effect.gen(function*() {
        const { url } = yield* countingServer(0)
        const calls: Array<{ readonly url: string; readonly header: string | null }> = []
        const counting: typeof globalThis.fetch = (input, init) => {
          const request = new Request(input, init)
          calls.push({ url: request.url, header: request.headers.get("x-app") })
          return globalThis.fetch(input, init)
        }
        const transport = TmdbHttpClient.layerFetch.pipe(
          Layer.provide(Layer.succeed(FetchHttpClient.Fetch, counting)),
          Layer.provide(Layer.succeed(FetchHttpClient.RequestInit, { headers: { "x-app": "demo" } }))
        )
        const http = Context.get(yield* Layer.build(transport), HttpClient.HttpClient)
        expect(leanTransportOf(http)).toBeDefined()
        const tmdb = yield* clientOnCountingServer(transport, url)
        const answer = yield* tmdb.request({ method: "GET", path: "/3/authentication", response: Answer })
        expect(answer.path).toBe("/3/authentication")
        const raw = yield* tmdb.httpClient.get("/3/configuration")
        expect(raw.status).toBe(200)
        expect(calls.map((c) => [new URL(c.url).pathname, c.header])).toEqual([
          ["/3/authentication", "demo"],
          ["/3/configuration", "demo"]
        ])
      }).pipe(Effect.scoped),
    20_000
  )

  it.live(
    "layerFetch without a Fetch of its own: every request, TmdbClient's and the app's, calls globalThis.fetch as it is then",
    () =>
      Effect.gen(function*() {
        const { url } = yield* countingServer(0)
        const original = globalThis.fetch
        const seen: Array<string> = []
        const stub = (name: string): typeof globalThis.fetch => (input, init) => {
          seen.push(`${name} ${new URL(new Request(input, init).url).pathname}`)
          return original(input, init)
        }
        yield* Effect.addFinalizer(() => Effect.sync(() => (globalThis.fetch = original)))
        const tmdb = yield* clientOnCountingServer(TmdbHttpClient.layerFetch, url)
        for (const name of ["first", "second"]) {
          globalThis.fetch = stub(name)
          yield* tmdb.request({ method: "GET", path: "/3/authentication", response: Answer })
          expect((yield* tmdb.httpClient.get("/3/configuration")).status).toBe(200)
        }
        expect(seen).toEqual([
          "first /3/authentication",
          "first /3/configuration",
          "second /3/authentication",
          "second /3/configuration"
        ])
      }).pipe(Effect.scoped),
    20_000
  )

  it.live(
    "layerFetch: a silent server is a Timeout after the configured timeout, and the fetch is aborted",
    () =>
      Effect.gen(function*() {
        const { server, url } = yield* countingServer(30_000)
        const tmdb = yield* clientOnCountingServer(TmdbHttpClient.layerFetch, url, { timeout: "300 millis" })
        const error = yield* Effect.flip(
          tmdb.request({ method: "GET", path: "/3/authentication", response: Answer })
        )
        expect(error).toMatchObject({ _tag: "TransportError", reason: "Timeout" })
        // The aborted fetch closes its connection, long before the server's 30 s answer.
        expect(yield* openConnectionsAfterClosing(server)).toBe(0)
      }).pipe(Effect.scoped),
    20_000
  )

  /** A TmdbClient over `transport` against a fresh counting server, without retries. */
  const clientOnCountingServer = <E>(
    transport: Layer.Layer<HttpClient.HttpClient, E, TmdbConfig>,
    serverUrl?: string,
    settings: Partial<TmdbConfigSettings> = {}
  ) =>
    Effect.flatMap(
      serverUrl === undefined ? Effect.map(countingServer(0), (s) => s.url) : Effect.succeed(serverUrl),
      (url) =>
        Effect.map(
          Layer.build(TmdbClient.layer.pipe(
            Layer.provide(transport),
            Layer.provide(
              TmdbConfig.layer({ accessToken: "token", baseUrl: url, retry: { maxRetries: 0 }, ...settings })
            )
          )),
          Context.get(TmdbClient)
        )
    )

  for (
    const [name, transport] of [
      ["TmdbHttpClient", TmdbHttpClient.layer],
      ["TmdbHttpClient.layerFetch", TmdbHttpClient.layerFetch],
      ["NodeHttpClient.layerUndici", NodeHttpClient.layerUndici],
      ["FetchHttpClient", FetchHttpClient.layer]
    ] as const
  ) {
    it.live(
      `an answer past maxResponseBytes is a MalformedResponse, the rest unread (${name})`,
      () =>
        Effect.gen(function*() {
          const tmdb = yield* clientOnCountingServer(transport)
          const started = Date.now()
          const error = yield* Effect.flip(
            tmdb.request({ method: "GET", path: "/big/50000000", response: Schema.Unknown })
          )
          expect(error).toMatchObject({ _tag: "MalformedResponse", httpStatus: 200 })
          expect(error.message).toContain("larger than 1048576 bytes")
          // 50 MB were offered; reading them would take far longer than stopping after the first megabyte.
          expect(Date.now() - started).toBeLessThan(2000)
          // Under the cap, the same route answers.
          yield* tmdb.request({ method: "GET", path: "/big/1000", response: Schema.Unknown })
        }).pipe(Effect.scoped),
      20_000
    )

    it.live(
      `a request timed out where the caller is uninterruptible (a finalizer's) is still aborted (${name})`,
      () =>
        Effect.gen(function*() {
          const { server, url } = yield* countingServer(30_000)
          const tmdb = yield* clientOnCountingServer(transport, url, { timeout: "300 millis" })
          const error = yield* Effect.flip(
            Effect.uninterruptible(tmdb.request({ method: "GET", path: "/3/authentication", response: Answer }))
          )
          expect(error).toMatchObject({ _tag: "TransportError", reason: "Timeout" })
          // The request is aborted: its connection closes long before the server's 30 s answer.
          expect(yield* openConnectionsAfterClosing(server)).toBe(0)
        }).pipe(Effect.scoped),
      20_000
    )

    it.live(
      `a declared content-length past the cap is refused unread; a character split across chunks, a body cut short and an empty answer (${name})`,
      () =>
        Effect.gen(function*() {
          const tmdb = yield* clientOnCountingServer(transport)
          const declared = yield* Effect.flip(
            tmdb.request({ method: "GET", path: "/declared/2000000", response: Schema.Unknown })
          )
          expect(declared).toMatchObject({ _tag: "MalformedResponse", httpStatus: 200 })
          expect(declared.message).toContain("larger than 1048576 bytes")
          expect(yield* tmdb.request({ method: "GET", path: "/declared/1000", response: Schema.Unknown })).toBeTruthy()
          const split = yield* tmdb.request({
            method: "GET",
            path: "/split",
            response: Schema.Struct({ name: Schema.String })
          })
          expect(split.name).toBe("Amélie")
          const cut = yield* Effect.flip(tmdb.request({ method: "GET", path: "/cut", response: Schema.Unknown }))
          expect(cut._tag).toBe("TransportError")
          // A 204 has no body (over fetch, no stream at all): an answer like any other.
          yield* tmdb.request({ method: "GET", path: "/empty", response: Schema.Unknown })
        }).pipe(Effect.scoped),
      20_000
    )
  }
})
