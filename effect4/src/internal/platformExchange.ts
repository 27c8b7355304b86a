/**
 * One TMDB request over any `HttpClient` (the platform's own clients, or an app's): sent with `execute`; the body read
 * on the platform's own body with a byte count where the client is one of the platform's (platformBody.ts), else
 * through the API, capped. Timed by a timer around one fiber on the live clock, by `Effect` on any other
 * (`TestClock`); and as a callback for the fused path (`start`).
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as HttpClient from "effect/http/HttpClient"
import type * as HttpClientError from "effect/http/HttpClientError"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import type * as HttpClientResponse from "effect/http/HttpClientResponse"
import * as Stream from "effect/Stream"
import { describeCause, scrub } from "../../core/scrub.js"
import { TransportError } from "../TmdbError.js"
import { decodeChunks, readPlatformAnswer } from "./platformBody.js"
import { type Start, timerMillis, transportError, type WireAnswer, type WireRequest } from "./wireExchange.js"

export const toTransportError = (endpoint: string) => (error: HttpClientError.HttpClientError): TransportError => {
  const reason = error.reason
  const description = reason.description === undefined ? describeCause(reason.cause) : scrub(reason.description)
  return new TransportError({
    reason: reason._tag === "InvalidUrlError" ? "InvalidUrl" : "Transport",
    endpoint,
    ...(description === undefined ? {} : { description })
  })
}

/** A body that could not be read to its end (a reset, an answer cut short). */
const bodyError = (endpoint: string) => (cause: unknown): TransportError => transportError(endpoint, cause)

/**
 * `effect` within `millis` of the wall clock: one fiber and a timer, which interrupts it (the platform then aborts
 * the request). `Effect.timeoutOrElse` races two fibers and a sleep for every request (issue 21's profile); on
 * `TestClock` the caller uses it.
 */
const withinOnTimer = <A, E, E2>(effect: Effect.Effect<A, E>, millis: number, onTimeout: () => E2) =>
  Effect.flatMap(Effect.context<never>(), (context) =>
    Effect.callback<A, E | E2>((resume) => {
      // Interruptible even when the caller is not (a finalizer's delete): the timer must be able to abort it.
      const fiber = Effect.runForkWith(context)(Effect.interruptible(effect))
      let settled = false
      const timer = setTimeout(() => {
        if (settled) return
        settled = true
        fiber.interruptUnsafe()
        resume(Effect.fail(onTimeout()))
      }, millis)
      fiber.addObserver((exit) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        resume(exit)
      })
      return Effect.sync(() => {
        settled = true
        clearTimeout(timer)
        fiber.interruptUnsafe()
      })
    }))

/** The live clock: with it, the lean exchange times itself; with any other (`TestClock`), `Effect` does. */
export const liveClock = Context.get(Context.empty(), Clock.Clock)

/** The body as text, or `undefined` when it is larger than `maxBytes` (the rest is then not read). */
const readCapped = (
  response: HttpClientResponse.HttpClientResponse,
  maxBytes: number
): Effect.Effect<string | undefined, HttpClientError.HttpClientError> => {
  const declared = response.headers["content-length"]
  if (declared !== undefined && /^\d+$/.test(declared)) {
    // The length is declared: too long is refused unread; within the cap, read as usual (a stream costs more).
    return Number(declared) > maxBytes ? Effect.succeed(undefined) : response.text
  }
  return Effect.suspend(() => {
    const chunks: Array<Uint8Array> = []
    let size = 0
    return response.stream.pipe(
      Stream.takeWhile((chunk) => {
        size += chunk.length
        if (size <= maxBytes) chunks.push(chunk)
        return size <= maxBytes
      }),
      Stream.runDrain,
      Effect.map(() => size > maxBytes ? undefined : decodeChunks(chunks, size))
    )
  })
}

/** The exchange over `untraced` (an `HttpClient` whose own spans are off: they would record secrets in URLs). */
export const makePlatformExchange = (
  untraced: HttpClient.HttpClient,
  timeoutError: (endpoint: string, limit?: Duration.Duration) => TransportError
) => {
  /** The exchange over any `HttpClient`, untimed. */
  const exchange = (wire: WireRequest, endpoint: string): Effect.Effect<WireAnswer, TransportError> => {
    const request = HttpClientRequest.make(wire.method as "GET")(`${wire.origin}${wire.path}`, {
      headers: wire.headers
    })
    return untraced.execute(
      wire.body === undefined ? request : HttpClientRequest.bodyText(request, wire.body, "application/json")
    ).pipe(
      Effect.mapError(toTransportError(endpoint)),
      Effect.flatMap((response): Effect.Effect<WireAnswer, TransportError> => {
        // The platform's own clients: their body read with a byte count (platformBody.ts); any other, through the API.
        const answer = readPlatformAnswer(response, wire.maxBytes)
        if (answer !== undefined) return Effect.mapError(answer, bodyError(endpoint))
        return Effect.map(readCapped(response, wire.maxBytes), (text): WireAnswer => ({
          status: response.status,
          retryAfter: response.headers["retry-after"],
          text: text ?? "",
          tooLarge: text === undefined
        })).pipe(Effect.mapError(toTransportError(endpoint)))
      })
    )
  }

  /** The exchange over any `HttpClient`, timed (after `limit`): by a timer on the live clock, by `Effect` on another. */
  const timed = (
    wire: WireRequest,
    endpoint: string,
    limit: Duration.Duration
  ): Effect.Effect<WireAnswer, TransportError> =>
    Effect.clockWith((clock) =>
      clock === liveClock
        ? withinOnTimer(exchange(wire, endpoint), Duration.toMillis(limit), () => timeoutError(endpoint, limit))
        : Effect.timeoutOrElse(exchange(wire, endpoint), {
          duration: limit,
          orElse: () => Effect.fail(timeoutError(endpoint, limit))
        })
    )

  /**
   * The exchange over any `HttpClient` as a callback, for the fused path: run in a fiber with `context` (the caller's),
   * timed by a timer that interrupts it (the platform then aborts the request); abandoning it interrupts it too.
   */
  const start = (context: Context.Context<never>): Start => (wire, endpoint, limit, done) => {
    // Interruptible even when the caller is not (a finalizer's delete): the timer must be able to abort it.
    const fiber = Effect.runForkWith(context)(Effect.interruptible(exchange(wire, endpoint)))
    let settled = false
    const millis = timerMillis(limit)
    const timer = millis === undefined ? undefined : setTimeout(() => {
      if (settled) return
      settled = true
      fiber.interruptUnsafe()
      done(Exit.fail(timeoutError(endpoint, limit)))
    }, millis)
    fiber.addObserver((exit) => {
      if (settled) return
      settled = true
      if (timer !== undefined) clearTimeout(timer)
      done(exit)
    })
    return () => {
      if (settled) return
      settled = true
      if (timer !== undefined) clearTimeout(timer)
      fiber.interruptUnsafe()
    }
  }

  return { exchange, timed, start }
}
