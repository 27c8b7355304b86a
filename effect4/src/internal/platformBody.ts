/**
 * An answer of the platform's own HttpClients (`NodeHttpClient.layerUndici`, `FetchHttpClient`) read on the body the
 * platform received: undici's `BodyReadable`, or the web `Response`'s stream, with a byte count against the size cap.
 *
 * Why not `response.stream` or `response.text`: the capped Effect `Stream` costs a fiber, a queue and a pull per
 * chunk, and `text` runs a fiber of its own (`Effect.cached` + `runSync`) and turns the headers into a `Headers` on
 * every access; over the platform's clients they made a login cost 4-5 times what the platform itself needs (issue 21,
 * BENCHMARKS.md). Reading the platform's body keeps the cap and costs what the platform's own `text()` does.
 *
 * Any other `HttpClient` (a test client, one whose `transformResponse` swaps the response) has no such body: `undefined`,
 * and the caller reads it through the platform's API.
 */
import * as Effect from "effect/Effect"
import * as HttpClientResponse from "effect/http/HttpClientResponse"
import * as Option from "effect/Option"

import type { WireAnswer } from "./wireExchange.js"

/** undici's `Dispatcher.ResponseData`, as far as this module reads it. */
interface UndiciSource {
  readonly statusCode: number
  readonly headers: Record<string, string | Array<string> | undefined>
  readonly body: NodeJS.ReadableStream & {
    readonly destroyed: boolean
    readonly errored?: Error | null
    destroy(error?: Error): void
  }
}

/** The web `Response`, as far as this module reads it (any fetch: the global one, undici's, a polyfill's). */
export interface WebSource {
  readonly status: number
  readonly headers: { get(name: string): string | null }
  readonly body: ReadableStream<Uint8Array> | null
}

type Source = { readonly _tag: "Undici"; readonly source: UndiciSource } | {
  readonly _tag: "Web"
  readonly source: WebSource
}

/**
 * The platform's response under `response`. The fetch client's (any response of `HttpClientResponse.fromWeb`): its web
 * `Response`, which `HttpClientResponse.toWeb` hands over (the platform then no longer aborts the request when the
 * response object is collected: this module reads or cancels the body itself). Otherwise `execute` returns a wrapper
 * (`InterruptibleResponse`) whose `original` is the platform's response, whose `source` is what the transport received.
 * Checked by shape, not by class: a custom fetch has its own `Response` class.
 */
const sourceOf = (response: HttpClientResponse.HttpClientResponse): Source | undefined => {
  const web = HttpClientResponse.toWeb(response)
  if (Option.isSome(web)) return { _tag: "Web", source: web.value }
  const outer = response as unknown as { readonly original?: unknown; readonly source?: unknown }
  const inner = (typeof outer.original === "object" && outer.original !== null ? outer.original : outer) as {
    readonly source?: unknown
  }
  const source = inner.source as Record<string, unknown> | undefined
  if (typeof source !== "object" || source === null) return undefined
  const body = source["body"] as Record<string, unknown> | null | undefined
  if (
    typeof source["statusCode"] === "number" && typeof source["headers"] === "object" && typeof body === "object" &&
    body !== null && typeof body["on"] === "function" && typeof body["destroy"] === "function"
  ) {
    return { _tag: "Undici", source: source as unknown as UndiciSource }
  }
  const headers = source["headers"] as Record<string, unknown> | undefined
  if (
    typeof source["status"] === "number" && typeof headers === "object" && headers !== null &&
    typeof headers["get"] === "function" &&
    (body === null || (typeof body === "object" && typeof body["getReader"] === "function"))
  ) {
    return { _tag: "Web", source: source as unknown as WebSource }
  }
  return undefined
}

const utf8 = new TextDecoder()

/** One buffer of the chunks, decoded once (a character split across chunks stays whole; a BOM is dropped). */
export const decodeChunks = (chunks: ReadonlyArray<Uint8Array>, size: number): string => {
  if (chunks.length === 1) return utf8.decode(chunks[0]!)
  const body = new Uint8Array(size)
  let at = 0
  for (const chunk of chunks) {
    body.set(chunk, at)
    at += chunk.length
  }
  return utf8.decode(body)
}

const first = (value: string | Array<string> | undefined): string | undefined => Array.isArray(value) ? value[0] : value

const declaredTooLarge = (declared: string | null | undefined, maxBytes: number) =>
  declared !== null && declared !== undefined && /^\d+$/.test(declared) && Number(declared) > maxBytes

const tooLarge = (status: number, retryAfter: string | undefined): WireAnswer => ({
  status,
  retryAfter,
  text: "",
  tooLarge: true
})

/**
 * The responses whose undici body is being read, held: the platform aborts the request of a response the garbage
 * collector takes, and nothing else refers to it while its body is read here.
 */
const reading = new Set<object>()

/** undici: the chunks as they are pushed (no promise per chunk); past the cap the body is destroyed (the request ends). */
const readUndici = (
  source: UndiciSource,
  maxBytes: number,
  response: object
): Effect.Effect<WireAnswer, unknown> => {
  const status = source.statusCode
  const retryAfter = first(source.headers["retry-after"])
  const body = source.body
  // undici frames a body by its content-length: a declared length is the length.
  if (declaredTooLarge(first(source.headers["content-length"]), maxBytes)) {
    body.destroy()
    return Effect.succeed(tooLarge(status, retryAfter))
  }
  return Effect.callback<WireAnswer, unknown>((resume) => {
    if (body.destroyed) {
      resume(Effect.fail(body.errored ?? new Error("the answer was cut short")))
      return
    }
    const chunks: Array<Uint8Array> = []
    let size = 0
    let done = false
    reading.add(response)
    const finish = (result: Effect.Effect<WireAnswer, unknown>) => {
      if (done) return
      done = true
      reading.delete(response)
      body.removeListener("data", onData)
      resume(result)
    }
    const onData = (chunk: Uint8Array) => {
      if (done) return
      size += chunk.length
      if (size > maxBytes) {
        finish(Effect.succeed(tooLarge(status, retryAfter)))
        body.destroy()
      } else {
        chunks.push(chunk)
      }
    }
    body.on("data", onData)
    body.once("end", () => finish(Effect.sync(() => ({ status, retryAfter, text: decodeChunks(chunks, size) }))))
    body.once("error", (error) => finish(Effect.fail(error)))
    body.once("close", () => finish(Effect.fail(body.errored ?? new Error("the answer was cut short"))))
    // Interrupted (a timeout, the caller): the body is destroyed, which aborts the request.
    return Effect.sync(() => {
      if (done) return
      done = true
      reading.delete(response)
      body.destroy()
    })
  })
}

/** How a body read by callbacks ends: the answer, or the transport's error (a reset, a body cut short). */
export type BodyResult = { readonly _tag: "Answer"; readonly answer: WireAnswer } | {
  readonly _tag: "Failed"
  readonly error: unknown
}

/**
 * A web `Response` read with its reader, `done` called once with the whole answer (or `tooLarge`: past the cap the
 * reader is cancelled, which ends the fetch). Returns a function that abandons the read (`done` is then not called).
 * Callback-driven, so that the lean fetch exchange (fetchExchange.ts) and the platform's fetch client share it.
 */
export const readWebBody = (
  source: WebSource,
  maxBytes: number,
  done: (result: BodyResult) => void
): () => void => {
  const status = source.status
  const retryAfter = source.headers.get("retry-after") ?? undefined
  const stream = source.body
  if (stream === null) {
    done({ _tag: "Answer", answer: { status, retryAfter, text: "" } })
    return () => {}
  }
  // fetch decodes a compressed body, and its content-length counts the compressed bytes: trusted only when plain.
  const encoding = source.headers.get("content-encoding")
  if (
    (encoding === null || encoding === "identity") && declaredTooLarge(source.headers.get("content-length"), maxBytes)
  ) {
    stream.cancel().catch(() => {})
    done({ _tag: "Answer", answer: tooLarge(status, retryAfter) })
    return () => {}
  }
  const reader = stream.getReader()
  const chunks: Array<Uint8Array> = []
  let size = 0
  let over = false
  const fail = (error: unknown) => {
    if (over) return
    over = true
    done({ _tag: "Failed", error })
  }
  const step = (result: ReadableStreamReadResult<Uint8Array>): void => {
    if (over) return
    if (result.done) {
      over = true
      return done({ _tag: "Answer", answer: { status, retryAfter, text: decodeChunks(chunks, size) } })
    }
    size += result.value.byteLength
    if (size > maxBytes) {
      over = true
      reader.cancel().catch(() => {})
      return done({ _tag: "Answer", answer: tooLarge(status, retryAfter) })
    }
    chunks.push(result.value)
    reader.read().then(step, fail)
  }
  reader.read().then(step, fail)
  return () => {
    if (over) return
    over = true
    reader.cancel().catch(() => {})
  }
}

/** A web stream, as an effect: interrupting it cancels the reader. */
const readWeb = (source: WebSource, maxBytes: number): Effect.Effect<WireAnswer, unknown> =>
  Effect.callback<WireAnswer, unknown>((resume) => {
    const abandon = readWebBody(
      source,
      maxBytes,
      (result) => resume(result._tag === "Answer" ? Effect.succeed(result.answer) : Effect.fail(result.error))
    )
    return Effect.sync(abandon)
  })

/**
 * The whole answer (status, `Retry-After`, the body as text or `tooLarge` past `maxBytes`), read on the platform's
 * own body; `undefined` when `response` is not one of the platform's (the caller reads it through the platform's API).
 * A failure is the transport's error (a reset, a body cut short).
 */
export const readPlatformAnswer = (
  response: HttpClientResponse.HttpClientResponse,
  maxBytes: number
): Effect.Effect<WireAnswer, unknown> | undefined => {
  const source = sourceOf(response)
  if (source === undefined) return undefined
  return source._tag === "Undici" ? readUndici(source.source, maxBytes, response) : readWeb(source.source, maxBytes)
}
