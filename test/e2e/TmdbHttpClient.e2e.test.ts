/**
 * TmdbHttpClient over a bare node:http server on 127.0.0.1 that counts connections: the connection limit is the
 * admission cap, connections are kept alive, and TmdbClient takes the lean exchange.
 */
import { HttpClient } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer, Schema } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { TmdbClient, TmdbConfig, TmdbHttpClient } from "../../src/index.js"
import { leanExchangeOf } from "../../src/internal/wireExchange.js"

/** A server that answers every request after `delayMillis`, counting connections and requests in flight. */
const countingServer = (delayMillis: number) =>
  Effect.acquireRelease(
    Effect.async<
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
          response.writeHead(200, { "content-type": "application/json" })
          response.end(JSON.stringify({ success: true, path: request.url }))
        }, delayMillis)
      })
      server.on("connection", () => (stats.connections += 1))
      server.listen(0, "127.0.0.1", () =>
        resume(Effect.succeed({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, stats, server })))
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() =>
          resume(Effect.void)
        )
      })
  )

const Answer = Schema.Struct({ success: Schema.Boolean, path: Schema.String })

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
        // TmdbClient takes the lean exchange of this client.
        expect(leanExchangeOf(Context.get(context, HttpClient.HttpClient))).toBeTypeOf("function")
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
    "is an HttpClient anyone can use: the platform's undici client over the same agent",
    () =>
      Effect.gen(function*() {
        const { stats, url } = yield* countingServer(0)
        const client = yield* TmdbHttpClient.make({ connections: 2 })
        const responses = yield* Effect.all(
          Array.from({ length: 6 }, (_, i) => Effect.flatMap(client.get(`${url}/x/${i}`), (r) => r.json)),
          { concurrency: "unbounded" }
        )
        expect(responses).toHaveLength(6)
        expect(stats.connections).toBeLessThanOrEqual(2)
      }).pipe(Effect.scoped),
    20_000
  )
})
