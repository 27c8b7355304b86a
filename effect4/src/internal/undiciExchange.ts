/**
 * The lean exchange of `TmdbHttpClient`: one request over an undici `Dispatcher` with a handler of its own, the whole
 * answer collected into a string. Why not the platform's undici client on this path: it builds an `AbortController`,
 * a `URL`, a response stream and a response object per request, and forks nothing less than `Effect.timeoutOrElse`
 * asks; BENCHMARKS.md has the figures.
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type { TransportError } from "../TmdbError.js"
import {
  type LeanTransport,
  timeoutError,
  timerMillis,
  transportError,
  type WireAnswer,
  type WireRequest
} from "./wireExchange.js"

/** The part of undici's `Dispatcher` API used here (its types are not imported: undici is not our dependency). */
export interface Dispatcher {
  dispatch(
    options: {
      readonly origin: string
      readonly path: string
      readonly method: string
      readonly headers: Readonly<Record<string, string>>
      readonly body: string | null
    },
    handler: {
      onRequestStart(controller: DispatchController): void
      onResponseStart(controller: DispatchController, statusCode: number, headers: ResponseHeaders): void
      onResponseData(controller: DispatchController, chunk: Buffer): void
      onResponseEnd(controller: DispatchController): void
      onResponseError(controller: DispatchController, error: Error): void
    }
  ): boolean
}

interface DispatchController {
  abort(reason: Error): void
}

type ResponseHeaders = Readonly<Record<string, string | ReadonlyArray<string> | undefined>>

/** Why a request was abandoned; undici reports it back through `onResponseError`, where it is ignored. */
const abandoned = new Error("abandoned by effect-tmdb-auth")

const firstValue = (header: string | ReadonlyArray<string> | undefined): string | undefined =>
  typeof header === "string" || header === undefined ? header : header[0]

/**
 * Sends `request` over `dispatcher` and calls `done` once with the whole answer or a `TransportError` (a timeout
 * after `timeout`, when given). Returns a function that abandons the request: `done` is then never called.
 */
export const startExchange = (
  dispatcher: Dispatcher,
  request: WireRequest,
  endpoint: string,
  timeout: Duration.Duration | undefined,
  done: (result: Exit.Exit<WireAnswer, TransportError>) => void
): () => void => {
  let settled = false
  let controller: DispatchController | undefined
  let timer: ReturnType<typeof setTimeout> | undefined
  let status = 0
  let retryAfter: string | undefined
  const chunks: Array<Buffer> = []
  let size = 0
  /** The rest of a body past the cap is not read: the request is abandoned. */
  const tooLarge = (started: DispatchController) => {
    settle(Exit.succeed({ status, retryAfter, text: "", tooLarge: true }))
    started.abort(abandoned)
  }
  const settle = (result: Exit.Exit<WireAnswer, TransportError>) => {
    if (settled) return
    settled = true
    if (timer !== undefined) clearTimeout(timer)
    done(result)
  }
  dispatcher.dispatch(
    {
      origin: request.origin,
      path: request.path,
      method: request.method,
      headers: request.headers,
      body: request.body ?? null
    },
    {
      onRequestStart(started) {
        controller = started
        if (settled) started.abort(abandoned)
      },
      onResponseStart(started, statusCode, headers) {
        status = statusCode
        retryAfter = firstValue(headers["retry-after"])
        if (Number(firstValue(headers["content-length"]) ?? 0) > request.maxBytes) tooLarge(started)
      },
      onResponseData(started, chunk) {
        if (settled) return
        size += chunk.length
        if (size > request.maxBytes) return tooLarge(started)
        chunks.push(chunk)
      },
      onResponseEnd() {
        const text = chunks.length === 1 ? chunks[0]!.toString("utf8") : Buffer.concat(chunks).toString("utf8")
        settle(Exit.succeed({ status, retryAfter, text }))
      },
      onResponseError(_, error) {
        if (error === abandoned) return
        settle(Exit.fail(transportError(endpoint, error)))
      }
    }
  )
  const millis = timerMillis(timeout)
  if (millis !== undefined && !settled) {
    timer = setTimeout(() => {
      settle(Exit.fail(timeoutError(endpoint, timeout!)))
      controller?.abort(abandoned)
    }, millis)
  }
  return () => {
    settled = true
    if (timer !== undefined) clearTimeout(timer)
    controller?.abort(abandoned)
  }
}

/** The lean transport over `dispatcher` (an undici `Agent` of `TmdbHttpClient`). */
export const undiciTransport = (dispatcher: Dispatcher): LeanTransport => ({
  start: (request, endpoint, timeout, done) => startExchange(dispatcher, request, endpoint, timeout, done),
  exchange: (request, endpoint, timeout) =>
    Effect.callback<WireAnswer, TransportError>((resume) => {
      // Interrupted: the request is abandoned and its socket released.
      const abandon = startExchange(dispatcher, request, endpoint, timeout, (result) => resume(result))
      return Effect.sync(abandon)
    })
})
