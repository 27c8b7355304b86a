/**
 * A test `HttpClient` that answers from a list of canned responses and records every request. It never touches
 * the network. Running out of answers is a defect with a clear message, so a test that sends more requests than
 * it scripted fails loudly.
 */
import type { Duration } from "effect"
import { Context, Effect, Layer, Ref } from "effect"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientError from "effect/http/HttpClientError"
import * as HttpClientResponse from "effect/http/HttpClientResponse"

export interface Canned {
  readonly status: number
  /** An object is sent as JSON; a string is sent as it is. */
  readonly body?: unknown
  readonly headers?: Record<string, string>
  /** Answer only after this long (Effect time: moves with TestClock). */
  readonly delay?: Duration.Input
  /** Fail with a transport error instead of answering. */
  readonly transportFailure?: boolean
}

export interface Recorded {
  readonly method: string
  readonly url: URL
  readonly path: string
  readonly headers: Readonly<Record<string, string>>
  /** The parsed JSON body, or undefined when there was none. */
  readonly body: unknown
}

export interface ScriptShape {
  readonly requests: Effect.Effect<ReadonlyArray<Recorded>>
  readonly push: (...responses: ReadonlyArray<Canned>) => Effect.Effect<void>
}

export class Script extends Context.Service<Script, ScriptShape>()("test/Script") {}

const decoder = new TextDecoder()

const bodyOf = (body: { readonly _tag: string; readonly body?: unknown }): unknown =>
  body._tag === "Uint8Array" ? JSON.parse(decoder.decode(body.body as Uint8Array)) : undefined

export const layer = (responses: ReadonlyArray<Canned>): Layer.Layer<HttpClient.HttpClient | Script> =>
  Layer.effectContext(Effect.gen(function*() {
    const queue = yield* Ref.make<ReadonlyArray<Canned>>(responses)
    const log = yield* Ref.make<ReadonlyArray<Recorded>>([])
    const client = HttpClient.make((request, url) =>
      Effect.gen(function*() {
        yield* Ref.update(log, (entries) => [...entries, {
          method: request.method,
          url,
          path: url.pathname,
          headers: request.headers,
          body: bodyOf(request.body)
        }])
        const next = yield* Ref.modify(queue, ([head, ...rest]) => [head, rest] as const)
        if (next === undefined) {
          return yield* Effect.die(
            new Error(`ScriptedClient: no canned response left for ${request.method} ${url.pathname}`)
          )
        }
        if (next.delay !== undefined) yield* Effect.sleep(next.delay)
        if (next.transportFailure === true) {
          return yield* new HttpClientError.HttpClientError({
            reason: new HttpClientError.TransportError({
              request,
              cause: new Error(`connect ECONNREFUSED while fetching ${url.toString()}`)
            })
          })
        }
        const body = next.body === undefined
          ? null
          : typeof next.body === "string"
          ? next.body
          : JSON.stringify(next.body)
        return HttpClientResponse.fromWeb(
          request,
          new Response(body, {
            status: next.status,
            headers: { "content-type": "application/json;charset=utf-8", ...next.headers }
          })
        )
      })
    )
    return Context.make(HttpClient.HttpClient, client).pipe(
      Context.add(Script, {
        requests: Ref.get(log),
        push: (...more) => Ref.update(queue, (queued) => [...queued, ...more])
      })
    )
  }))

/** TMDB's success and error bodies, for scripting. */
export const ok = (body: Record<string, unknown>): Canned => ({ status: 200, body: { success: true, ...body } })

export const tmdbError = (
  status: number,
  code: number,
  message = `TMDB error ${code}`,
  headers?: Record<string, string>
): Canned => ({
  status,
  body: { success: false, status_code: code, status_message: message },
  ...(headers === undefined ? {} : { headers })
})
