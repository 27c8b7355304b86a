/**
 * The one TMDB pipeline every request goes through (the library's and the app's): base URL, credential, admission
 * control, timeout, TMDB's error table, retries. The application credential and the session ids leave their
 * `Redacted` wrappers only here, on their way to the wire.
 *
 * Built for cost (issue 11, BENCHMARKS.md): everything that does not depend on the request (headers, the base URL's
 * parts, the retry policy, decoders) is built once per client; a request that succeeds at the first attempt runs no
 * retry machinery; over `TmdbHttpClient`'s lean exchange on the live clock, the timeout is a timer of the exchange,
 * not two forked fibers.
 *
 * Its rooms: the exchange over any `HttpClient` (platformExchange.ts), the lean transports (undiciExchange.ts,
 * fetchExchange.ts), the fused path of admission (fusedAdmission.ts), decoding an answer (answers.ts), late answers
 * (lateAnswers.ts); here, the request itself: its URL, headers, admission, retries and span.
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import type * as HttpClientResponse from "effect/http/HttpClientResponse"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Schedule from "effect/Schedule"
import { retryAfterMillis } from "../../core/retryAfter.js"
import { isRetryableWhenRepeatable } from "../RetryPolicy.js"
import { GuestSession, Session } from "../Session.js"
import type { TmdbClientRequest, TmdbClientRequestFn, TmdbClientShape } from "../TmdbClient.js"
import { defaultLateAnswerGrace, defaultMaxResponseBytes, type TmdbConfigShape } from "../TmdbConfig.js"
import type { RequestError, RetryableError, SessionNotFound } from "../TmdbError.js"
import { TransportError } from "../TmdbError.js"
import { type LimiterShape, type Outcome, syncAdmissionOf } from "./admission.js"
import { makeDecode } from "./answers.js"
import type { ErrorOf, SpecificTag } from "./errorTable.js"
import { isTakeEffectPath, type LateHooks, makeFused, takeEffectPath } from "./fusedAdmission.js"
import { InFlightGate } from "./inFlightGate.js"
import { type LateAnswer, makeLateAnswers, MAX_LATE_ANSWERS } from "./lateAnswers.js"
import { liveClock, makePlatformExchange } from "./platformExchange.js"
import {
  answerOf,
  failureOf,
  leanTransportOf,
  timeoutError as timeoutAfter,
  type WireAnswer,
  type WireRequest
} from "./wireExchange.js"

export type { LateAnswer } from "./lateAnswers.js"

/** How long every fiber holds back after a 429: its `Retry-After` (capped), or a second when it has none. */
const pauseMillis = (retryAfter: number | undefined, cap: Duration.Duration) =>
  Math.min(retryAfter ?? 1000, Duration.toMillis(cap))

/** A path the lean exchange can send as it is: what `new URL` would leave unchanged (no dot segments either). */
const plainPath = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*$/
const dotSegment = /(^|\/)(\.|%2e){1,2}(\/|$)/i

/** A request path must be a path from the API origin: a leading `/`, no fragment. Else no request is sent. */
const badPath = (path: string) => !path.startsWith("/") || path.includes("#")

const answered: Outcome = { _tag: "Answered" }

/** On a repeated attempt, these errors mean an earlier attempt did the work: `value` is the result. */
export interface DoneOnRetry<A> {
  readonly tags: ReadonlyArray<string>
  readonly value: A
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

/** Builds the pipeline over `httpClient`, gated by `limiter` as `config.admission` says. */
export const makeClient = (
  config: TmdbConfigShape,
  httpClient: HttpClient.HttpClient,
  limiter: LimiterShape,
  /** Where work left to finish in the background runs: the client's scope (forked detached without one). */
  forkBackground: <A, E>(effect: Effect.Effect<A, E>) => Effect.Effect<Fiber.Fiber<A, E>> = (effect) =>
    Effect.forkDetach(effect, { startImmediately: true }),
  /** Where cleanups run (`background`): by default with the rest of the background work. */
  forkCleanup: <A, E>(effect: Effect.Effect<A, E>) => Effect.Effect<Fiber.Fiber<A, E>> = forkBackground
): TmdbClientShape => {
  const credential = config.credential
  const timeout = config.timeout
  const lateAnswerGrace = config.lateAnswerGrace ?? defaultLateAnswerGrace

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
  const untraced = HttpClient.transformResponse(
    httpClient,
    Effect.provideService(HttpClient.TracerDisabledWhen, () => true)
  )
  const authenticated = untraced.pipe(
    HttpClient.mapRequest((request) => {
      const withBase = HttpClientRequest.prependUrl(request, config.baseUrl).pipe(HttpClientRequest.acceptJson)
      return credential._tag === "AccessToken"
        ? HttpClientRequest.bearerToken(withBase, Redacted.value(credential.token))
        : HttpClientRequest.setUrlParam(withBase, "api_key", Redacted.value(credential.key))
    })
  )

  const timeoutError = (endpoint: string, limit: Duration.Duration = timeout) => timeoutAfter(endpoint, limit)

  const platform = makePlatformExchange(untraced, timeoutError)
  const overHttpClient = platform.timed
  const lateAnswers = makeLateAnswers({ forkBackground, forkCleanup, lateAnswerGrace, timeout, timeoutError })
  const { background, keepingLateAnswer, lateCleanup, lateUnreadable } = lateAnswers
  const decode = makeDecode(credential, maxBytes)

  /** The exchange: lean where the client is `TmdbHttpClient`'s and the path is plain, else over the `HttpClient`. */
  const exchange = lean === undefined
    ? overHttpClient
    : (wire: WireRequest, endpoint: string, limit: Duration.Duration): Effect.Effect<WireAnswer, TransportError> =>
      Effect.clockWith((clock) =>
        clock === liveClock
          ? lean.exchange(wire, endpoint, limit)
          : Effect.timeoutOrElse(lean.exchange(wire, endpoint, undefined), {
            duration: limit,
            orElse: () => Effect.fail(timeoutError(endpoint, limit))
          })
      )

  /** How an exchange ended, for the limiter: a 429 pauses every caller for its `Retry-After` (capped). */
  const outcomeOf = (status: number, retryAfter: string | undefined, now: number): Outcome =>
    status === 429
      ? { _tag: "RateLimited", retryAfterMillis: pauseMillis(retryAfterMillis(retryAfter, now), config.maxRetryAfter) }
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
    const now = clock.currentTimeMillisUnsafe()
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
      : inFlight.withPermit(Effect.andThen(admit, effect), (a) => record(statusOf(a), retryAfterOf(a)))

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
      sent === undefined ? exchanged : Effect.andThen(Deferred.succeed(sent, undefined), exchanged),
      statusOfAnswer,
      retryAfterOfAnswer
    )
  }

  /**
   * The fused path (fusedAdmission.ts), where everything admission needs is at hand without effects (the in-process
   * limiter without an explicit limit, the live clock). The exchange is the lean transport's, or the platform
   * `HttpClient`'s run in a fiber with the caller's context (platformExchange.ts's `start`): either way no gate effects
   * and, for a late answer, no fiber waiting for it.
   */
  const sync = syncAdmissionOf(limiter)
  const fused = inFlight !== undefined && sync !== undefined && admission !== false &&
      admission.rateLimit === undefined
    ? makeFused(
      inFlight,
      sync,
      (answer, now) => sync.record(now, outcomeOf(answer.status, answer.retryAfter, now)),
      (wire, endpoint, limit, sent) => gatedExchange(wire, endpoint, true, limit, sent),
      (endpoint) => timeoutError(endpoint)
    )
    : undefined
  /** An exchange of `request`: fused where it can be, through the effects of the gate elsewhere. */
  const admitted = (
    wire: WireRequest,
    endpoint: string,
    leanPath: boolean,
    limit: Duration.Duration,
    sent?: Deferred.Deferred<void>,
    late?: LateHooks
  ) =>
    leanPath && fused !== undefined
      ? Effect.clockWith((clock) =>
        clock !== liveClock
          ? late === undefined
            ? gatedExchange(wire, endpoint, true, limit, sent)
            : Effect.fail(takeEffectPath)
          : lean !== undefined
          ? fused(lean.start, clock, wire, endpoint, limit, sent, late)
          : Effect.flatMap(
            Effect.context<never>(),
            (context) => fused(platform.start(context), clock, wire, endpoint, limit, sent, late)
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

  /** The retry policy, built once: the configured schedule, each wait logged at debug. */
  const policy = config.retrySchedule.pipe(
    Schedule.modifyDelay(({ duration: delay, input: error }) => {
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
      return Effect.catch(
        Effect.map(attempt, Result.succeed),
        (error): Effect.Effect<Result.Result<A, E>, E & RetryableError> =>
          doneOnRetry !== undefined && doneOnRetry.tags.includes(error._tag)
            ? Effect.succeed(Result.succeed(doneOnRetry.value))
            : isRetryableWhenRepeatable(repeatable, error)
            ? Effect.fail(error)
            : Effect.succeed(Result.fail(error))
      )
    })
    return Effect.flatMap(Effect.retry(again, policy), Effect.fromResult)
  }

  const request = (<A, I, T extends SpecificTag = never>(
    options: TmdbClientRequest<A, I, T>,
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
    const keepingFused = late === undefined || !leanPath || fused === undefined ? keeping : Effect.flatMap(
      Effect.context<never>(),
      (context) => {
        const hooks: LateHooks = {
          timeoutMillis: Duration.toMillis(timeout),
          onAbandoned: () => {
            lateAnswers.pending.count += 1
          },
          onLate: (result) => {
            const answer = answerOf(result)
            const cleanUp = answer === undefined
              ? lateUnreadable(late, endpoint, failureOf(result))
              : Effect.matchEffect(decode(options, endpoint, allowed, answer), {
                onFailure: (error) => lateUnreadable(late, endpoint, error),
                onSuccess: (value) => lateCleanup(late, endpoint, value)
              })
            Effect.runForkWith(context)(
              background(
                late.what,
                Effect.ensuring(Effect.ignore(cleanUp), Effect.sync(() => lateAnswers.pending.count -= 1))
              )
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
      Effect.suspend(() => lateAnswers.pending.count >= MAX_LATE_ANSWERS ? plain : keepingFused)
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
    return Effect.catch(
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
