/**
 * The one TMDB pipeline every request goes through (the library's and the app's): base URL, credential, admission
 * control, timeout, TMDB's error table, retries. The application credential and the session ids leave their
 * `Redacted` wrappers only here, on their way to the wire.
 *
 * Built for cost (issue 11, BENCHMARKS.md): everything that does not depend on the request (headers, the base URL's
 * parts, the retry policy, decoders) is built once per client; a request that succeeds at the first attempt runs no
 * retry machinery; over `TmdbHttpClient`'s lean exchange on the live clock, the timeout is a timer of the exchange,
 * not two forked fibers.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Runtime from "effect/Runtime"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { retryAfterMillis } from "../../core/retryAfter.js"
import { describeCause, scrub, scrubSecrets } from "../../core/scrub.js"
import { isRetryableWhenRepeatable } from "../RetryPolicy.js"
import { GuestSession, Session } from "../Session.js"
import type { TmdbClientRequest, TmdbClientRequestFn, TmdbClientShape } from "../TmdbClient.js"
import { defaultLateAnswerGrace, defaultMaxResponseBytes, type TmdbConfigShape } from "../TmdbConfig.js"
import type { RequestError, RetryableError, SessionNotFound } from "../TmdbError.js"
import { MalformedResponse, TransportError } from "../TmdbError.js"
import { type LimiterShape, type Outcome, syncAdmissionOf } from "./admission.js"
import type { ErrorOf, SpecificTag } from "./errorTable.js"
import { fromAnswer } from "./errorTable.js"
import { InFlightGate, type Waiter } from "./inFlightGate.js"
import { decodeChunks, readPlatformAnswer } from "./platformBody.js"
import { ErrorBody } from "./wire.js"
import { leanTransportOf, type WireAnswer, type WireRequest } from "./wireExchange.js"

type TmdbRequest<A, I, T extends SpecificTag> = TmdbClientRequest<A, I, T>

const toTransportError = (endpoint: string) => (error: HttpClientError.HttpClientError): TransportError => {
  const description = error.description === undefined ? describeCause(error.cause) : scrub(error.description)
  return new TransportError({
    reason: error._tag === "RequestError" && error.reason === "InvalidUrl" ? "InvalidUrl" : "Transport",
    endpoint,
    ...(description === undefined ? {} : { description })
  })
}

/** A body that could not be read to its end (a reset, an answer cut short). */
const bodyError = (endpoint: string) => (cause: unknown): TransportError => {
  const description = describeCause(cause)
  return new TransportError({ reason: "Transport", endpoint, ...(description === undefined ? {} : { description }) })
}

/**
 * `Retry-After` as a `Duration` (core/retryAfter.ts): seconds or an HTTP date; anything else `undefined`, and the
 * backoff applies. Callers cap the wait.
 */
export const parseRetryAfter = (header: string | undefined, nowMillis: number): Duration.Duration | undefined => {
  const millis = retryAfterMillis(header, nowMillis)
  return millis === undefined ? undefined : Duration.millis(millis)
}

/** The body as JSON, or `noJson` when it is not JSON. */
const noJson: unique symbol = Symbol("noJson")
const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return noJson
  }
}

/** Field paths that failed to decode, never the values found there. */
const issuesOf = (error: ParseResult.ParseError): Array<string> => {
  const paths = ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) =>
    issue.path.length === 0 ? "body" : issue.path.map(String).join(".")
  )
  return [...new Set(paths)].map((path) => `unexpected value at ${path}`)
}

/** How long every fiber holds back after a 429: its `Retry-After` (capped), or a second when it has none. */
const pauseMillis = (retryAfter: Duration.Duration | undefined, cap: Duration.Duration) =>
  Math.min(retryAfter === undefined ? 1000 : Duration.toMillis(retryAfter), Duration.toMillis(cap))

/** A path the lean exchange can send as it is: what `new URL` would leave unchanged (no dot segments either). */
const plainPath = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*$/
const dotSegment = /(^|\/)(\.|%2e){1,2}(\/|$)/i

/** A request path must be a path from the API origin: a leading `/`, no fragment. Else no request is sent. */
const badPath = (path: string) => !path.startsWith("/") || path.includes("#")

/**
 * `effect` within `millis` of the wall clock: one fiber and a timer, which interrupts it (the platform then aborts
 * the request). `Effect.timeoutFail` races two fibers and a sleep for every request (issue 21's profile); on
 * `TestClock` the caller uses it.
 */
const withinOnTimer = <A, E, E2>(effect: Effect.Effect<A, E>, millis: number, onTimeout: () => E2) =>
  Effect.flatMap(Effect.runtime<never>(), (runtime) =>
    Effect.async<A, E | E2>((resume) => {
      // Interruptible even when the caller is not (a finalizer's delete): the timer must be able to abort it.
      const fiber = Runtime.runFork(runtime)(Effect.interruptible(effect))
      let settled = false
      const timer = setTimeout(() => {
        if (settled) return
        settled = true
        fiber.unsafeInterruptAsFork(FiberId.none)
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
        fiber.unsafeInterruptAsFork(FiberId.none)
      })
    }))

/** The live clock: with it, the lean exchange times itself; with any other (`TestClock`), `Effect` does. */
const liveClock = Context.get(DefaultServices.liveServices, Clock.Clock)

const answered: Outcome = { _tag: "Answered" }

/**
 * How an exchange ended, as the fused path's transports report it: an `Either` from the lean ones, the fiber's `Exit`
 * from one over the platform's `HttpClient` (a defect of a custom client stays a defect). Both are effects.
 */
type WireResult = Either.Either<WireAnswer, TransportError> | Exit.Exit<WireAnswer, TransportError>

/** The answer of a result, if it is one. */
const answerOf = (result: WireResult): WireAnswer | undefined =>
  Either.isEither(result)
    ? Either.isRight(result) ? result.right : undefined
    : Exit.isSuccess(result)
    ? result.value
    : undefined

/** The failure of a result that is not an answer: the error, or the cause of a defect or interruption. */
const failureOf = (result: WireResult): unknown =>
  Either.isEither(result)
    ? Either.isLeft(result) ? result.left : undefined
    : Exit.isFailure(result)
    ? Option.getOrElse(Cause.failureOption(result.cause), () => result.cause)
    : undefined

/** A transport of the fused path: `done` called once, unless the returned function abandons the request first. */
type Start = (
  request: WireRequest,
  endpoint: string,
  timeout: Duration.Duration | undefined,
  done: (result: WireResult) => void
) => () => void

const MAX_TIMER_MILLIS = 2 ** 31 - 1

/** What the fused path does with a request whose late answer is kept (see `keepingLateAnswer`). */
interface LateHooks {
  /** How long the caller waits once the request is out. */
  readonly timeoutMillis: number
  /** The caller stopped waiting while the request is out. */
  readonly onAbandoned: () => void
  /** The answer (or failure) of a request its caller stopped waiting for. */
  readonly onLate: (result: WireResult) => void
}

/** The fused path hands a request back to the effect path (a wait is due): internal marker, never seen by callers. */
const TakeEffectPathId: unique symbol = Symbol.for("effect-tmdb-auth/TakeEffectPath")
const takeEffectPath = Object.assign(
  new TransportError({ reason: "Transport", endpoint: "", description: "internal: effect path" }),
  { [TakeEffectPathId]: true }
)
/** Recognised by a property, not by identity: an error that crosses a span comes back wrapped. */
const isTakeEffectPath = (error: unknown): boolean =>
  typeof error === "object" && error !== null &&
  (error as { readonly [TakeEffectPathId]?: boolean })[TakeEffectPathId] === true

/** How many requests may be left to finish in the background at once (see `keepingLateAnswer`). */
const MAX_LATE_ANSWERS = 1000

/** On a repeated attempt, these errors mean an earlier attempt did the work: `value` is the result. */
export interface DoneOnRetry<A> {
  readonly tags: ReadonlyArray<string>
  readonly value: A
}

/** What to do with an answer that comes after the caller stopped waiting (a session: delete it). */
export interface LateAnswer<A> {
  /** What the answer creates, for the debug log: "a session". */
  readonly what: string
  readonly cleanup: (value: A) => Effect.Effect<void, unknown>
}

/** The library's own options of a request, beyond `TmdbClientRequest`. */
export interface RequestInternals<A> {
  readonly doneOnRetry?: DoneOnRetry<A> | undefined
  readonly lateAnswer?: LateAnswer<A> | undefined
}

/** `request` with the library's own options (its type as `TmdbClientRequestFn`'s). */
export interface InternalRequestFn {
  <A, I, T extends SpecificTag = never>(
    options: TmdbClientRequest<A, I, T> & { readonly session?: undefined },
    internals?: RequestInternals<A>
  ): Effect.Effect<A, RequestError | ErrorOf<T>>
  <A, I, T extends SpecificTag = never>(
    options: TmdbClientRequest<A, I, T>,
    internals?: RequestInternals<A>
  ): Effect.Effect<A, RequestError | ErrorOf<T> | SessionNotFound>
}

/** Where a `TmdbClientShape` built here keeps `request` with the library's own options. */
export const InternalRequestId: unique symbol = Symbol.for("effect-tmdb-auth/InternalRequest")

/** `request` with the library's own options, or the plain one (for a `TmdbClient` built elsewhere, e.g. a test's). */
export const internalRequestOf = (client: TmdbClientShape): InternalRequestFn =>
  (client as { readonly [InternalRequestId]?: InternalRequestFn })[InternalRequestId] ??
    ((options: TmdbClientRequest<unknown, unknown, SpecificTag>) => client.request(options)) as InternalRequestFn

const decodeErrorBody = Schema.decodeUnknownOption(ErrorBody)

/** The fields of a JSON body that hold secrets, in TMDB's names. */
const secretFields: ReadonlySet<string> = new Set([
  "password",
  "request_token",
  "session_id",
  "guest_session_id",
  "access_token",
  "api_key"
])

/** The body as text, or `undefined` when it is larger than `maxBytes` (the rest is then not read). */
const readCapped = (
  response: HttpClientResponse.HttpClientResponse,
  maxBytes: number
): Effect.Effect<string | undefined, HttpClientError.ResponseError> => {
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

/** When a cleanup whose own retries ran out tries again: 1 s, doubling up to 30 s, jittered. */
const cleanupSchedule = Schedule.exponential("1 second").pipe(
  Schedule.union(Schedule.spaced("30 seconds")),
  Schedule.jittered
)

/** Builds the pipeline over `httpClient`, gated by `limiter` as `config.admission` says. */
export const makeClient = (
  config: TmdbConfigShape,
  httpClient: HttpClient.HttpClient,
  limiter: LimiterShape,
  /** Where work left to finish in the background runs: the client's scope (forked as daemons without one). */
  forkBackground: <A, E>(effect: Effect.Effect<A, E>) => Effect.Effect<Fiber.RuntimeFiber<A, E>> = Effect.forkDaemon,
  /** Where cleanups run (`background`): by default with the rest of the background work. */
  forkCleanup: <A, E>(effect: Effect.Effect<A, E>) => Effect.Effect<Fiber.RuntimeFiber<A, E>> = forkBackground
): TmdbClientShape => {
  const credential = config.credential
  const timeout = config.timeout
  const lateAnswerGrace = config.lateAnswerGrace ?? defaultLateAnswerGrace

  /**
   * A cleanup (a delete: safe to repeat) whose own retries ran out on a transient failure (the network, a 5xx, 429s
   * under a limit) tries again, 1 s apart doubling up to 30 s, jittered, until the caller's bound (`lateAnswerGrace`)
   * ends it: a session left at TMDB is what a cleanup exists to prevent.
   */
  const persisting = <E>(effect: Effect.Effect<void, E>): Effect.Effect<void, E> =>
    Effect.retry(effect, {
      schedule: cleanupSchedule,
      while: (error) =>
        typeof error === "object" && error !== null && "_tag" in error &&
        isRetryableWhenRepeatable(true, error as { readonly _tag: string })
    })
  const maxBytes = config.maxResponseBytes ?? defaultMaxResponseBytes
  const baseUrl = new URL(config.baseUrl)
  const origin = baseUrl.origin
  const pathPrefix = baseUrl.pathname === "/" ? "" : baseUrl.pathname.replace(/\/+$/, "")
  const lean = leanTransportOf(httpClient)
  const requestSpans = config.requestSpans === true

  // Headers and the credential's query parameter, built once.
  const headers: Readonly<Record<string, string>> = credential._tag === "AccessToken"
    ? { accept: "application/json", authorization: `Bearer ${Redacted.value(credential.token)}` }
    : { accept: "application/json" }
  const jsonHeaders: Readonly<Record<string, string>> = { ...headers, "content-type": "application/json" }
  const apiKeyParam = credential._tag === "ApiKey"
    ? new URLSearchParams({ api_key: Redacted.value(credential.key) }).toString()
    : ""
  // How the credential shows in a span's url.full: the API key never does.
  const shownCredential = credential._tag === "ApiKey" ? "api_key=<redacted>" : ""

  // The platform's span records the full URL, secrets included; `request` records its own, redacted, span.
  const untraced = HttpClient.withTracerDisabledWhen(httpClient, () => true)
  const authenticated = untraced.pipe(
    HttpClient.mapRequest((request) => {
      const withBase = HttpClientRequest.prependUrl(request, config.baseUrl).pipe(HttpClientRequest.acceptJson)
      return credential._tag === "AccessToken"
        ? HttpClientRequest.bearerToken(withBase, Redacted.value(credential.token))
        : HttpClientRequest.setUrlParam(withBase, "api_key", Redacted.value(credential.key))
    })
  )

  const timeoutError = (endpoint: string, limit: Duration.Duration = timeout) =>
    new TransportError({
      reason: "Timeout",
      endpoint,
      description: `no complete answer within ${Duration.format(limit)}`
    })

  /** The exchange over any `HttpClient`, untimed. */
  const platformExchange = (wire: WireRequest, endpoint: string): Effect.Effect<WireAnswer, TransportError> => {
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
  const overHttpClient = (
    wire: WireRequest,
    endpoint: string,
    limit: Duration.Duration
  ): Effect.Effect<WireAnswer, TransportError> =>
    Effect.clockWith((clock) =>
      clock === liveClock
        ? withinOnTimer(platformExchange(wire, endpoint), Duration.toMillis(limit), () => timeoutError(endpoint, limit))
        : Effect.timeoutFail(platformExchange(wire, endpoint), {
          duration: limit,
          onTimeout: () => timeoutError(endpoint, limit)
        })
    )

  /**
   * The exchange over any `HttpClient` as a callback, for the fused path: run in a fiber of `runtime` (the caller's),
   * timed by a timer that interrupts it (the platform then aborts the request); abandoning it interrupts it too.
   */
  const platformStart = (runtime: Runtime.Runtime<never>): Start => (wire, endpoint, limit, done) => {
    // Interruptible even when the caller is not (a finalizer's delete): the timer must be able to abort it.
    const fiber = Runtime.runFork(runtime)(Effect.interruptible(platformExchange(wire, endpoint)))
    let settled = false
    const millis = limit === undefined ? undefined : Duration.toMillis(limit)
    const timer = millis === undefined || millis > MAX_TIMER_MILLIS ? undefined : setTimeout(() => {
      if (settled) return
      settled = true
      fiber.unsafeInterruptAsFork(FiberId.none)
      done(Either.left(timeoutError(endpoint, limit)))
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
      fiber.unsafeInterruptAsFork(FiberId.none)
    }
  }

  /** The exchange: lean where the client is `TmdbHttpClient`'s and the path is plain, else over the `HttpClient`. */
  const exchange = lean === undefined
    ? overHttpClient
    : (wire: WireRequest, endpoint: string, limit: Duration.Duration): Effect.Effect<WireAnswer, TransportError> =>
      Effect.clockWith((clock) =>
        clock === liveClock
          ? lean.exchange(wire, endpoint, limit)
          : Effect.timeoutFail(lean.exchange(wire, endpoint, undefined), {
            duration: limit,
            onTimeout: () => timeoutError(endpoint, limit)
          })
      )

  /** How an exchange ended, for the limiter: a 429 pauses every caller for its `Retry-After` (capped). */
  const outcomeOf = (status: number, retryAfter: string | undefined, now: number): Outcome =>
    status === 429
      ? { _tag: "RateLimited", retryAfterMillis: pauseMillis(parseRetryAfter(retryAfter, now), config.maxRetryAfter) }
      : answered

  /** Tells the limiter how an exchange ended. */
  const recordAnswered = limiter.record(answered)
  const record = (status: number, retryAfter: string | undefined): Effect.Effect<void> =>
    status === 429
      ? Effect.flatMap(Clock.currentTimeMillis, (now) => limiter.record(outcomeOf(status, retryAfter, now)))
      : recordAnswered

  const admission = config.admission
  const inFlight = admission === false ? undefined : new InFlightGate(admission.maxInFlight)
  const admit = admission === false ? Effect.void : limiter.admit(admission.rateLimit)

  /** Requests per second admission lets through: the learned rate, within the explicit limit. */
  const explicitRate = admission === false || admission.rateLimit === undefined
    ? undefined
    : admission.rateLimit.limit * 1000 / Duration.toMillis(admission.rateLimit.window)
  const admissionWait = Effect.clockWith((clock) => {
    const now = clock.unsafeCurrentTimeMillis()
    const pace = inFlight === undefined ? undefined : limiter.pace?.(now)
    if (pace === undefined || inFlight === undefined) return Effect.succeed(Duration.zero)
    const rates = [pace.rate, explicitRate].filter((r): r is number => r !== undefined)
    const queued = rates.length === 0 ? 0 : inFlight.waiting * 1000 / Math.min(...rates)
    return Effect.succeed(Duration.millis(Math.max(0, pace.nextSendAt - now) + queued))
  })

  /** Admission around one exchange: a place among those in flight, then the limiter's go; its answer recorded. */
  const gate = <A, E>(
    effect: Effect.Effect<A, E>,
    statusOf: (a: A) => number,
    retryAfterOf: (a: A) => string | undefined
  ): Effect.Effect<A, E> =>
    inFlight === undefined
      ? effect
      : inFlight.withPermit(Effect.zipRight(admit, effect), (a) => record(statusOf(a), retryAfterOf(a)))

  const statusOfAnswer = (answer: WireAnswer) => answer.status
  const retryAfterOfAnswer = (answer: WireAnswer) => answer.retryAfter

  /**
   * One exchange through admission, as effects: over any client, on any clock. `sent`, when given, is completed once
   * the request is admitted and goes on the wire.
   */
  const gatedExchange = (
    wire: WireRequest,
    endpoint: string,
    leanPath: boolean,
    limit: Duration.Duration,
    sent?: Deferred.Deferred<void>
  ) => {
    const exchanged = leanPath ? exchange(wire, endpoint, limit) : overHttpClient(wire, endpoint, limit)
    return gate(
      sent === undefined ? exchanged : Effect.zipRight(Deferred.succeed(sent, undefined), exchanged),
      statusOfAnswer,
      retryAfterOfAnswer
    )
  }

  /**
   * The fused path, where everything admission needs is at hand without effects (the in-process limiter without an
   * explicit limit, the live clock): the permit, the learned rate's slot, the exchange and the answer's record in one
   * callback-driven effect. The exchange is the lean transport's, or the platform `HttpClient`'s run in a fiber of the
   * caller's runtime (`platformStart`): either way no gate effects and, for a late answer, no fiber waiting for it. A queued request is sent from the `release` that hands it the
   * permit, without waking its fiber; the fiber is resumed once, with the answer. When the learned rate says to wait
   * (a pause after a 429, or a learned rate), the permit goes back and the request takes the effect path, which waits.
   * Same admission, same FIFO, same records: only cheaper (BENCHMARKS.md).
   */
  const sync = syncAdmissionOf(limiter)
  const fusedGate = inFlight !== undefined && sync !== undefined && admission !== false &&
      admission.rateLimit === undefined
    ? { inFlight, sync }
    : undefined
  const recordNow = (answer: WireAnswer, now: number) =>
    fusedGate?.sync.record(
      now,
      outcomeOf(answer.status, answer.retryAfter, now)
    )
  const fused = (
    { inFlight: permits, sync: slots }: NonNullable<typeof fusedGate>,
    startExchange: Start,
    clock: Clock.Clock,
    wire: WireRequest,
    endpoint: string,
    limit: Duration.Duration,
    sent: Deferred.Deferred<void> | undefined,
    late?: LateHooks
  ) =>
    Effect.async<WireAnswer, TransportError>((resume) => {
      let state: "queued" | "granted" | "sending" | "over" = "queued"
      let abandon: (() => void) | undefined
      let waiter: Waiter | undefined
      let abandoned = false
      let callerTimer: ReturnType<typeof setTimeout> | undefined
      const start = () => {
        if (state === "over") return permits.release() // interrupted between the grant and now
        if (!slots.tryAdmit(clock.unsafeCurrentTimeMillis())) {
          state = "over"
          permits.release()
          return resume(
            late === undefined ? gatedExchange(wire, endpoint, true, limit, sent) : Effect.fail(takeEffectPath)
          )
        }
        state = "sending"
        if (sent !== undefined) Deferred.unsafeDone(sent, Exit.void)
        abandon = startExchange(wire, endpoint, limit, (result) => {
          state = "over"
          if (callerTimer !== undefined) clearTimeout(callerTimer)
          const answer = answerOf(result)
          if (answer !== undefined) recordNow(answer, clock.unsafeCurrentTimeMillis())
          permits.release()
          if (abandoned) return late!.onLate(result)
          resume(result)
        })
        // With late answers kept, the caller waits `timeout` while the request goes on for the grace period.
        if (late !== undefined) {
          callerTimer = setTimeout(() => {
            if (state !== "sending") return
            abandoned = true
            late.onAbandoned()
            resume(Effect.fail(timeoutError(endpoint)))
          }, late.timeoutMillis)
        }
      }
      if (permits.tryTake()) {
        state = "granted"
        start()
      } else {
        // Granted inside another request's completion: sent on the next microtask, outside undici's callback.
        waiter = permits.enqueue(() => {
          state = "granted"
          queueMicrotask(start)
        })
      }
      return Effect.sync(() => {
        switch (state) {
          case "queued":
            waiter!.state = "cancelled"
            break
          case "granted":
            state = "over"
            break
          case "sending":
            if (late !== undefined) {
              // Interrupted while the request is out: it goes on; what it creates is cleaned up when it comes.
              if (callerTimer !== undefined) clearTimeout(callerTimer)
              if (!abandoned) late.onAbandoned()
              abandoned = true
              break
            }
            state = "over"
            abandon!()
            permits.release()
            break
        }
      })
    })

  /** An exchange of `request`: fused where it can be, through the effects of the gate elsewhere. */
  const admitted = (
    wire: WireRequest,
    endpoint: string,
    leanPath: boolean,
    limit: Duration.Duration,
    sent?: Deferred.Deferred<void>,
    late?: LateHooks
  ) =>
    leanPath && fusedGate !== undefined
      ? Effect.clockWith((clock) =>
        clock !== liveClock
          ? late === undefined
            ? gatedExchange(wire, endpoint, true, limit, sent)
            : Effect.fail(takeEffectPath)
          : lean !== undefined
          ? fused(fusedGate, lean.start, clock, wire, endpoint, limit, sent, late)
          : Effect.flatMap(
            Effect.runtime<never>(),
            (runtime) => fused(fusedGate, platformStart(runtime), clock, wire, endpoint, limit, sent, late)
          )
      )
      : late === undefined
      ? gatedExchange(wire, endpoint, leanPath, limit, sent)
      : Effect.fail(takeEffectPath)

  /** The authenticated, admission-controlled client for anything `request` does not cover. */
  const gatedClient = HttpClient.transform(
    authenticated,
    (effect) =>
      gate(
        effect,
        (response: HttpClientResponse.HttpClientResponse) => response.status,
        (response) => response.headers["retry-after"]
      )
  )

  // A decoder per response schema, built on first use.
  const decoders = new WeakMap<Schema.Schema.Any, (input: unknown) => Either.Either<unknown, ParseResult.ParseError>>()
  const decoderOf = <A, I>(schema: Schema.Schema<A, I>) => {
    let decoder = decoders.get(schema as Schema.Schema.Any)
    if (decoder === undefined) {
      decoder = Schema.decodeUnknownEither(schema)
      decoders.set(schema as Schema.Schema.Any, decoder)
    }
    return decoder as (input: unknown) => Either.Either<A, ParseResult.ParseError>
  }

  const credentialValue = Redacted.value(credential._tag === "AccessToken" ? credential.token : credential.key)

  /** Every secret a request carries: the credential, the session's id, the secret fields of its body. */
  const secretsOf = (
    options: { readonly session?: Session | GuestSession | undefined; readonly body?: unknown }
  ): ReadonlyArray<string> => {
    const secrets = [credentialValue]
    const session = options.session
    if (session instanceof Session) secrets.push(Redacted.value(session.sessionId))
    else if (session instanceof GuestSession) secrets.push(Redacted.value(session.guestSessionId))
    const body = options.body
    if (typeof body === "object" && body !== null) {
      for (const [key, value] of Object.entries(body)) {
        if (secretFields.has(key) && typeof value === "string") secrets.push(value)
      }
    }
    return secrets
  }

  const decode = <A, I, T extends SpecificTag>(
    options: TmdbRequest<A, I, T>,
    endpoint: string,
    allowed: ReadonlyArray<T | "SessionNotFound">,
    answer: WireAnswer
  ): Effect.Effect<A, RequestError | ErrorOf<T> | SessionNotFound> => {
    const status = answer.status
    if (answer.tooLarge === true) {
      return Effect.fail(
        new MalformedResponse({
          endpoint,
          httpStatus: status,
          issues: [`the answer is larger than ${maxBytes} bytes (maxResponseBytes); the rest was not read`]
        })
      )
    }
    const json = parseJson(answer.text)
    const reportsFailure = json !== noJson && (json as { readonly success?: unknown } | null)?.success === false
    if (status >= 200 && status < 300 && !reportsFailure) {
      const decoded = decoderOf(options.response)(json === noJson ? undefined : json)
      return Either.isRight(decoded)
        ? Effect.succeed(decoded.right)
        : Effect.fail(
          new MalformedResponse({
            endpoint,
            httpStatus: status,
            issues: json === noJson ? ["the body is not JSON"] : issuesOf(decoded.left)
          })
        )
    }
    const body = json === noJson ? Option.none() : decodeErrorBody(json)
    const statusMessage = Option.getOrUndefined(Option.flatMapNullable(body, (b) => b.status_message))
    return Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.fail(
        fromAnswer({
          endpoint,
          httpStatus: status,
          statusCode: Option.getOrUndefined(Option.flatMapNullable(body, (b) => b.status_code)),
          // The server's words may quote the request (a proxy echoing it): no secret of it comes back that way.
          statusMessage: statusMessage === undefined ? undefined : scrubSecrets(statusMessage, secretsOf(options)),
          retryAfter: parseRetryAfter(answer.retryAfter, now),
          credential: credential._tag,
          withSession: options.session !== undefined
        }, allowed) as RequestError | ErrorOf<T> | SessionNotFound
      ))
  }

  /** The retry policy, built once: the configured schedule, each wait logged at debug. */
  const policy = Schedule.intersect(config.retrySchedule, Schedule.identity<RetryableError>()).pipe(
    Schedule.modifyDelayEffect(([, error], delay) => {
      const millis = Math.round(Duration.toMillis(delay))
      return Effect.logDebug(`Retrying in ${Duration.format(Duration.millis(millis))}: ${error.message}`).pipe(
        Effect.annotateLogs({ endpoint: error.endpoint, retryInMillis: millis, error: error._tag }),
        Effect.as(delay)
      )
    })
  )

  /**
   * After a first retryable failure: the policy takes over, that failure its first input. Final failures travel in
   * the success channel past the retry, so the policy only ever sees retryable ones. An error listed in `doneOnRetry`
   * on a repeated attempt means an earlier attempt did the work (a session already deleted): success.
   */
  const retryAfterFailure = <A, E extends { readonly _tag: string }>(
    repeatable: boolean,
    attempt: Effect.Effect<A, E>,
    first: E & RetryableError,
    doneOnRetry: DoneOnRetry<A> | undefined
  ): Effect.Effect<A, E> => {
    let firstPending = true
    const again = Effect.suspend(() => {
      if (firstPending) {
        firstPending = false
        return Effect.fail(first)
      }
      return Effect.catchAll(
        Effect.map(attempt, Either.right),
        (error): Effect.Effect<Either.Either<A, E>, E & RetryableError> =>
          doneOnRetry !== undefined && doneOnRetry.tags.includes(error._tag)
            ? Effect.succeed(Either.right(doneOnRetry.value))
            : isRetryableWhenRepeatable(repeatable, error)
            ? Effect.fail(error)
            : Effect.succeed(Either.left(error))
      )
    })
    return Effect.flatMap(Effect.retry(again, policy), (result) => result)
  }

  /**
   * The one place cleanups run: the client's background (the layer's scope), bounded by `lateAnswerGrace`, a
   * transient failure tried again (see `persisting`).
   */
  const background = <E>(what: string, effect: Effect.Effect<void, E>) =>
    forkCleanup(
      persisting(effect).pipe(
        Effect.timeoutFail({ duration: lateAnswerGrace, onTimeout: () => ({ message: "lateAnswerGrace ran out" }) }),
        // Forked from a finalizer, a fiber would inherit its uninterruptibility: closing the layer could not stop it.
        Effect.interruptible,
        Effect.catchAllCause((cause) =>
          Cause.isInterruptedOnly(cause)
            ? Effect.void
            : Effect.logWarning(`${what}: did not complete in the background`, cause)
        )
      )
    )

  /** Work whose answer may come after its caller stopped waiting: at most this many at once; then waited for inline. */
  let lateAnswersPending = 0

  /** Hands a late answer to its cleanup (tried again while transient, within the grace), logged at debug. */
  const lateCleanup = <A>(late: LateAnswer<A>, endpoint: string, value: A) =>
    persisting(late.cleanup(value)).pipe(
      Effect.timeoutFail({ duration: lateAnswerGrace, onTimeout: () => ({ message: "lateAnswerGrace ran out" }) }),
      Effect.zipRight(Effect.logDebug(`${late.what} that came after its caller stopped waiting was deleted`)),
      Effect.catchAllCause((cause) =>
        Effect.logDebug(`${late.what} that came after its caller stopped waiting could not be deleted`, cause)
      ),
      Effect.annotateLogs({ endpoint })
    )

  /**
   * A late answer that failed, logged at debug: a garbled body (MalformedResponse) may hide something TMDB created
   * that no client can learn; a transport failure leaves it unknown.
   */
  const lateUnreadable = (late: { readonly what: string }, endpoint: string, error: unknown) =>
    Effect.logDebug(`${late.what} that came after its caller stopped waiting could not be read`).pipe(
      Effect.annotateLogs({ endpoint, error: (error as { readonly _tag?: string } | undefined)?._tag ?? "unknown" })
    )

  /**
   * Runs one attempt (timed after the grace period) in a background fiber; the caller waits for its answer at most
   * `timeout` from the moment the request goes on the wire (`sent`: admission's wait is not counted, as for any
   * request). When the caller stops waiting (its timeout, or an interruption) before the answer, the work goes on for
   * the grace period, and a success that comes late is handed to `late.cleanup` (logged at debug, never with the
   * value). A caller interrupted before its request was sent takes it back: nothing was sent. A failure of the work
   * itself is the caller's, as for any attempt.
   */
  const keepingLateAnswer = <A, E>(
    work: (sent: Deferred.Deferred<void>) => Effect.Effect<A, E>,
    endpoint: string,
    late: LateAnswer<A>
  ): Effect.Effect<A, E | TransportError> =>
    Effect.flatMap(Effect.zip(Deferred.make<void>(), Deferred.make<A, E>()), ([sent, answer]) => {
      const state: { abandoned: boolean; result: Exit.Exit<A, E> | undefined } = { abandoned: false, result: undefined }
      const cleanUp = (value: A) => lateCleanup(late, endpoint, value)
      const attemptInBackground = work(sent).pipe(
        Effect.exit,
        Effect.flatMap((exit) => {
          state.result = exit
          if (!state.abandoned) return Deferred.done(answer, exit)
          if (Exit.isSuccess(exit)) return cleanUp(exit.value)
          const failure = Cause.failureOption(exit.cause)
          return Option.isSome(failure) ? lateUnreadable(late, endpoint, failure.value) : Effect.void
        }),
        // Whatever happened, the caller's wait for the request to be sent is over.
        Effect.ensuring(Effect.zipRight(
          Deferred.succeed(sent, undefined),
          Effect.sync(() => {
            if (state.abandoned) lateAnswersPending -= 1
          })
        ))
      )
      return Effect.flatMap(forkBackground(attemptInBackground), (fiber) =>
        Deferred.await(sent).pipe(
          Effect.zipRight(
            Deferred.await(answer).pipe(
              Effect.timeoutFail({ duration: timeout, onTimeout: () => timeoutError(endpoint) })
            )
          ),
          Effect.onExit((exit) => {
            if (Exit.isSuccess(exit) || (state.result !== undefined && Exit.isFailure(state.result))) return Effect.void
            // The caller stopped waiting: the work goes on (or is taken back, if nothing was sent yet), or its success
            // came too late to be handed over.
            if (state.result === undefined) {
              state.abandoned = true
              lateAnswersPending += 1
              return Effect.flatMap(Deferred.isDone(sent), (wasSent) =>
                wasSent ? Effect.void : Fiber.interruptFork(fiber))
            }
            return Effect.asVoid(background(late.what, cleanUp(state.result.value)))
          })
        ))
    })

  const request = (<A, I, T extends SpecificTag = never>(
    options: TmdbRequest<A, I, T>,
    internals: RequestInternals<A> = {}
  ) => {
    const late = internals.lateAnswer
    const method = options.method
    const endpoint = `${method} ${options.path}`
    let query = ""
    let shownQuery = ""
    if (options.query !== undefined) {
      const params = new URLSearchParams()
      for (const key in options.query) {
        const value = options.query[key]
        if (value !== undefined) params.append(key, String(value))
      }
      query = params.toString()
      shownQuery = query
    }
    const session = options.session
    if (session instanceof Session || session instanceof GuestSession) {
      const name = session instanceof Session ? "session_id" : "guest_session_id"
      const id = session instanceof Session ? session.sessionId : session.guestSessionId
      const pair = new URLSearchParams({ [name]: Redacted.value(id) }).toString()
      query = query === "" ? pair : `${query}&${pair}`
      shownQuery = shownQuery === "" ? `${name}=<redacted>` : `${shownQuery}&${name}=<redacted>`
    }
    if (apiKeyParam !== "") {
      query = query === "" ? apiKeyParam : `${query}&${apiKeyParam}`
      shownQuery = shownQuery === "" ? shownCredential : `${shownQuery}&${shownCredential}`
    }
    // A request with a session gets SessionNotFound from TMDB's code 3 (see the error table's sessionRules), not from
    // a 404 for the resource it asks for: only the endpoints that name SessionNotFound read 6, 34, 37 as it.
    const allowed: ReadonlyArray<T | "SessionNotFound"> = options.errors ?? []
    const path = `${pathPrefix}${options.path}${query === "" ? "" : `?${query}`}`
    // The lean transport sends the path as it is: only a plain one. The platform's client normalises any.
    const leanPath = lean === undefined || (plainPath.test(options.path) && !dotSegment.test(options.path))
    const send = (body: string | undefined, sent?: Deferred.Deferred<void>, lateHooks?: LateHooks) => {
      const wire: WireRequest = {
        method,
        origin,
        path,
        headers: body === undefined ? headers : jsonHeaders,
        body,
        maxBytes
      }
      // A request whose late answer is kept goes on for the grace period; any other is timed as usual.
      const limit = sent !== undefined || lateHooks !== undefined ? lateAnswerGrace : timeout
      return admitted(wire, endpoint, leanPath, limit, sent, lateHooks)
    }
    // Encoded when the effect runs: a body JSON cannot encode is a typed failure, never a throw.
    const exchangedWith = (sent?: Deferred.Deferred<void>, lateHooks?: LateHooks) =>
      badPath(options.path)
        ? Effect.fail(
          new TransportError({
            reason: "InvalidUrl",
            endpoint,
            description: "the path must start with / and carry no fragment (#): it is appended to the base URL"
          })
        )
        : options.body === undefined
        ? send(undefined, sent, lateHooks)
        : Effect.suspend(() => {
          let text: string
          try {
            text = JSON.stringify(options.body)
          } catch (cause) {
            return Effect.fail(
              new TransportError({
                reason: "InvalidBody",
                endpoint,
                description: `the JSON body could not be encoded (${
                  cause instanceof Error ? cause.message : String(cause)
                })`
              })
            )
          }
          return send(text, sent, lateHooks)
        })
    const decoded = (answers: Effect.Effect<WireAnswer, TransportError>) =>
      requestSpans
        ? answers.pipe(
          Effect.tap((answer) => Effect.annotateCurrentSpan("http.response.status_code", answer.status)),
          Effect.flatMap((answer) => decode(options, endpoint, allowed, answer))
        )
        : Effect.flatMap(answers, (answer) => decode(options, endpoint, allowed, answer))
    const plain = decoded(exchangedWith())
    const keeping = late === undefined
      ? plain
      : keepingLateAnswer((sent) => decoded(exchangedWith(sent)), endpoint, late)
    // On the fused path, keeping a late answer costs no fiber: the caller's timer and the request's are callbacks;
    // only a late answer forks its cleanup. Elsewhere (another transport, TestClock, a wait due) `keepingLateAnswer`.
    const keepingFused = late === undefined || !leanPath || fusedGate === undefined ? keeping : Effect.flatMap(
      Effect.runtime<never>(),
      (runtime) => {
        const hooks: LateHooks = {
          timeoutMillis: Duration.toMillis(timeout),
          onAbandoned: () => {
            lateAnswersPending += 1
          },
          onLate: (result) => {
            const answer = answerOf(result)
            const cleanUp = answer === undefined
              ? lateUnreadable(late, endpoint, failureOf(result))
              : Effect.matchEffect(decode(options, endpoint, allowed, answer), {
                onFailure: (error) => lateUnreadable(late, endpoint, error),
                onSuccess: (value) => lateCleanup(late, endpoint, value)
              })
            Runtime.runFork(runtime)(
              background(late.what, Effect.ensuring(Effect.ignore(cleanUp), Effect.sync(() => lateAnswersPending -= 1)))
            )
          }
        }
        return Effect.catchIf(
          decoded(exchangedWith(undefined, hooks)),
          isTakeEffectPath,
          () => keeping
        )
      }
    )
    const attemptBody = late === undefined ?
      plain :
      Effect.suspend(() => lateAnswersPending >= MAX_LATE_ANSWERS ? plain : keepingFused)
    const attempt = requestSpans
      ? Effect.withSpan(attemptBody, `http.client ${method}`, {
        kind: "client",
        captureStackTrace: false,
        attributes: {
          "http.request.method": method,
          "server.address": baseUrl.hostname,
          ...(baseUrl.port === "" ? {} : { "server.port": Number(baseUrl.port) }),
          "url.path": options.path,
          "url.full": `${config.baseUrl}${options.path}${shownQuery === "" ? "" : `?${shownQuery}`}`
        }
      })
      : attemptBody
    const repeatable = method === "GET" || options.idempotent === true
    return Effect.catchAll(
      attempt,
      (error) =>
        isRetryableWhenRepeatable(repeatable, error)
          ? retryAfterFailure(repeatable, attempt, error, internals.doneOnRetry)
          : Effect.fail(error)
    )
  }) as TmdbClientRequestFn & InternalRequestFn

  const shape: TmdbClientShape & { readonly [InternalRequestId]: InternalRequestFn } = {
    request,
    httpClient: gatedClient,
    config,
    background,
    admissionWait,
    [InternalRequestId]: request
  }
  return shape
}
