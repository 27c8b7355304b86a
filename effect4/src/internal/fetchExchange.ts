/**
 * The lean exchange of `TmdbHttpClient.layerFetch`: one request with `fetch`, the body read with its reader and a byte
 * count (platformBody.ts's `readWebBody`). Why not the platform's `FetchHttpClient` on this path: per request it
 * builds a `URL`, a `Headers`, a response object and its wrapper, a finalization-registry entry, and runs the request
 * in an effect of its own; alone it costs about twice what `fetch` does for the same three requests of a login, so a
 * library over it cannot come near `fetch`'s speed (issue 21, BENCHMARKS.md).
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type { TransportError } from "../TmdbError.js"
import { readWebBody, type WebSource } from "./platformBody.js"
import {
  type LeanTransport,
  timeoutError,
  timerMillis,
  transportError,
  type WireAnswer,
  type WireRequest
} from "./wireExchange.js"

/** The `fetch` a request uses: looked up when it is sent (the global one may be replaced meanwhile, as in tests). */
export type FetchOf = () => typeof globalThis.fetch

/** `init`'s headers as a record (lower-case names), under which each request's own headers go. */
const headersOf = (init: RequestInit | undefined): Readonly<Record<string, string>> | undefined => {
  if (init?.headers === undefined) return undefined
  const headers: Record<string, string> = {}
  new Headers(init.headers).forEach((value, name) => {
    headers[name] = value
  })
  return headers
}

/**
 * Sends `request` with `fetchOf()` and calls `done` once with the whole answer or a `TransportError` (a timeout after
 * `timeout`, when given: the fetch is then aborted). Returns a function that abandons the request: `done` is then
 * never called.
 */
const startFetch = (
  fetchOf: FetchOf,
  init: RequestInit | undefined,
  baseHeaders: Readonly<Record<string, string>> | undefined,
  request: WireRequest,
  endpoint: string,
  timeout: Duration.Duration | undefined,
  done: (result: Exit.Exit<WireAnswer, TransportError>) => void
): () => void => {
  const controller = new AbortController()
  let settled = false
  let timer: ReturnType<typeof setTimeout> | undefined
  let abandonBody: (() => void) | undefined
  const settle = (result: Exit.Exit<WireAnswer, TransportError>) => {
    if (settled) return
    settled = true
    if (timer !== undefined) clearTimeout(timer)
    done(result)
  }
  const failed = (error: unknown) => settle(Exit.fail(transportError(endpoint, error)))
  let response: Promise<Response>
  try {
    response = fetchOf()(`${request.origin}${request.path}`, {
      ...init,
      method: request.method,
      headers: baseHeaders === undefined ? request.headers : { ...baseHeaders, ...request.headers },
      body: request.body ?? null,
      signal: controller.signal
    })
  } catch (error) {
    // A fetch that throws instead of rejecting (a polyfill, a bad URL in some runtimes).
    failed(error)
    return () => {}
  }
  response.then((answer) => {
    if (settled) {
      answer.body?.cancel().catch(() => {})
      return
    }
    abandonBody = readWebBody(answer as WebSource, request.maxBytes, (result) => {
      if (result._tag === "Answer") settle(Exit.succeed(result.answer))
      else failed(result.error)
    })
  }, failed)
  const millis = timerMillis(timeout)
  if (millis !== undefined && !settled) {
    timer = setTimeout(() => {
      settle(Exit.fail(timeoutError(endpoint, timeout!)))
      abandonBody?.()
      controller.abort()
    }, millis)
  }
  return () => {
    if (settled) return
    settled = true
    if (timer !== undefined) clearTimeout(timer)
    abandonBody?.()
    controller.abort()
  }
}

/** The lean transport over `fetchOf()`, each request with `init`'s options (a `FetchHttpClient.RequestInit`). */
export const fetchTransport = (fetchOf: FetchOf, init: RequestInit | undefined): LeanTransport => {
  const baseHeaders = headersOf(init)
  return {
    start: (request, endpoint, timeout, done) =>
      startFetch(fetchOf, init, baseHeaders, request, endpoint, timeout, done),
    exchange: (request, endpoint, timeout) =>
      Effect.callback<WireAnswer, TransportError>((resume) => {
        // Interrupted: the fetch is aborted.
        const abandon = startFetch(fetchOf, init, baseHeaders, request, endpoint, timeout, (result) => resume(result))
        return Effect.sync(abandon)
      })
  }
}
