/**
 * The one TMDB pipeline every request goes through (the library's and the app's): base URL, credential, admission
 * control, timeout, TMDB's error table, retries. The application credential and the session ids leave their
 * `Redacted` wrappers only here, on their way to the wire.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Clock from "effect/Clock"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import { isRetryable } from "../RetryPolicy.js"
import { GuestSession, Session } from "../Session.js"
import type { TmdbClientRequest, TmdbClientRequestFn, TmdbClientShape } from "../TmdbClient.js"
import type { TmdbConfigShape } from "../TmdbConfig.js"
import type { RequestError, RetryableError, SessionNotFound } from "../TmdbError.js"
import { MalformedResponse, TransportError } from "../TmdbError.js"
import { InFlightGate, type LimiterShape } from "./admission.js"
import type { ErrorOf, SpecificTag } from "./errorTable.js"
import { fromAnswer } from "./errorTable.js"
import { ErrorBody } from "./wire.js"

type TmdbRequest<A, I, T extends SpecificTag> = TmdbClientRequest<A, I, T>

const urlPattern = /\b[a-z][a-z0-9+.-]*:\/\/\S+/gi
const secretParams = /\b(api_key|session_id|guest_session_id)=[^&\s)]+/gi

/** Platform error text may quote the URL, which can hold the API key or a session id. */
const scrub = (text: string): string => text.replace(urlPattern, "<url>").replace(secretParams, "$1=<redacted>")

const describeCause = (cause: unknown): string | undefined => {
  if (cause instanceof Error) {
    const code = (cause as { readonly code?: unknown }).code
    const inner = (cause as { readonly cause?: unknown }).cause
    const innerText = inner instanceof Error ? `: ${describeCause(inner)}` : ""
    return scrub(`${typeof code === "string" ? `${code} ` : ""}${cause.message}${innerText}`)
  }
  return cause === undefined ? undefined : scrub(String(cause))
}

const toTransportError = (endpoint: string) => (error: HttpClientError.HttpClientError): TransportError => {
  const description = error.description === undefined ? describeCause(error.cause) : scrub(error.description)
  return new TransportError({
    reason: error._tag === "RequestError" && error.reason === "InvalidUrl" ? "InvalidUrl" : "Transport",
    endpoint,
    ...(description === undefined ? {} : { description })
  })
}

/** `Retry-After` is either a number of seconds or an HTTP date. */
export const parseRetryAfter = (header: string | undefined, nowMillis: number): Duration.Duration | undefined => {
  if (header === undefined) return undefined
  const trimmed = header.trim()
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Duration.seconds(Number(trimmed))
  const date = DateTime.make(new Date(trimmed))
  if (Option.isNone(date)) return undefined
  return Duration.millis(Math.max(0, DateTime.toEpochMillis(date.value) - nowMillis))
}

const parseJson = (text: string): Option.Option<unknown> => {
  try {
    return Option.some(JSON.parse(text))
  } catch {
    return Option.none()
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

/** Builds the pipeline over `client`, gated by `limiter` as `config.admission` says. */
export const makeClient = (
  config: TmdbConfigShape,
  httpClient: HttpClient.HttpClient,
  limiter: LimiterShape
): TmdbClientShape => {
  const credential = config.credential
  const authenticate = credential._tag === "AccessToken"
    ? HttpClientRequest.bearerToken(Redacted.value(credential.token))
    : HttpClientRequest.setUrlParam("api_key", Redacted.value(credential.key))
  const base = httpClient.pipe(
    HttpClient.mapRequest((request) =>
      request.pipe(HttpClientRequest.prependUrl(config.baseUrl), HttpClientRequest.acceptJson, authenticate)
    ),
    // The platform's span records the full URL, secrets included; `request` records its own, redacted, span.
    HttpClient.withTracerDisabledWhen(() => true)
  )
  const origin = Option.getOrElse(Option.liftThrowable(() => new URL(config.baseUrl).origin)(), () => "invalid-url")
  const admission = config.admission

  /** Admission around one exchange: a place among those in flight, then the limiter's go; its answer recorded. */
  const gate = admission === false
    ? <A, E>(exchange: Effect.Effect<readonly [HttpClientResponse.HttpClientResponse, A], E>) => exchange
    : (() => {
      const inFlight = new InFlightGate(admission.maxInFlight)
      const admit = limiter.admit(admission.rateLimit)
      return <A, E>(exchange: Effect.Effect<readonly [HttpClientResponse.HttpClientResponse, A], E>) =>
        inFlight.withPermit(
          admit.pipe(
            Effect.zipRight(exchange),
            Effect.tap(([response]) =>
              response.status === 429
                ? Effect.flatMap(Clock.currentTimeMillis, (now) =>
                  limiter.record({
                    _tag: "RateLimited",
                    retryAfterMillis: pauseMillis(
                      parseRetryAfter(response.headers["retry-after"], now),
                      config.maxRetryAfter
                    )
                  }))
                : limiter.record({ _tag: "Answered" })
            )
          )
        )
    })()

  /** The authenticated, admission-controlled client for anything `request` does not cover. */
  const gatedClient = HttpClient.transform(
    base,
    (effect) =>
      Effect.map(gate(Effect.map(effect, (response) => [response, undefined] as const)), ([response]) => response)
  )

  const decode = <A, I, T extends SpecificTag>(
    options: TmdbRequest<A, I, T>,
    endpoint: string,
    allowed: ReadonlyArray<T | "SessionNotFound">,
    response: HttpClientResponse.HttpClientResponse,
    text: string
  ): Effect.Effect<A, RequestError | ErrorOf<T> | SessionNotFound> => {
    const status = response.status
    const json = parseJson(text)
    const reportsFailure = Option.exists(json, (body) => (body as { readonly success?: unknown })?.success === false)
    if (status >= 200 && status < 300 && !reportsFailure) {
      return Either.match(Schema.decodeUnknownEither(options.response)(Option.getOrUndefined(json)), {
        onLeft: (error) =>
          Effect.fail(
            new MalformedResponse({
              endpoint,
              httpStatus: status,
              issues: Option.isNone(json) ? ["the body is not JSON"] : issuesOf(error)
            })
          ),
        onRight: Effect.succeed
      })
    }
    const body = Option.flatMap(json, Schema.decodeUnknownOption(ErrorBody))
    return Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.fail(
        fromAnswer({
          endpoint,
          httpStatus: status,
          statusCode: Option.getOrUndefined(Option.flatMapNullable(body, (b) => b.status_code)),
          statusMessage: Option.getOrUndefined(Option.flatMapNullable(body, (b) => b.status_message)),
          retryAfter: parseRetryAfter(response.headers["retry-after"], now),
          credential: credential._tag,
          withSession: options.session !== undefined
        }, allowed) as RequestError | ErrorOf<T> | SessionNotFound
      ))
  }

  // How the credential shows in a span's url.full: the API key never does.
  const shownCredential = credential._tag === "ApiKey" ? "api_key=<redacted>" : ""

  const request = (<A, I, T extends SpecificTag = never>(options: TmdbRequest<A, I, T>) => {
    const endpoint = `${options.method} ${options.path}`
    const params: Record<string, string> = {}
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) params[key] = String(value)
    }
    const session = options.session
    if (session instanceof Session) params["session_id"] = Redacted.value(session.sessionId)
    else if (session instanceof GuestSession) params["guest_session_id"] = Redacted.value(session.guestSessionId)
    const allowed: ReadonlyArray<T | "SessionNotFound"> = session === undefined
      ? options.errors ?? []
      : [...(options.errors ?? []), "SessionNotFound"]
    const url = HttpClientRequest.make(options.method)(options.path)
    const withQuery = Object.keys(params).length === 0 ? url : HttpClientRequest.setUrlParams(url, params)
    // Encoded when the effect runs: a body JSON cannot encode is a typed failure, never a throw.
    const built = options.body === undefined ? Effect.succeed(withQuery) : Effect.try({
      try: () => HttpClientRequest.bodyUnsafeJson(withQuery, options.body),
      catch: (cause) =>
        new TransportError({
          reason: "InvalidBody",
          endpoint,
          description: `the JSON body could not be encoded (${cause instanceof Error ? cause.message : String(cause)})`
        })
    })
    const shownQuery = [
      ...Object.keys(params).map((key) =>
        key === "session_id" || key === "guest_session_id" ? `${key}=<redacted>` : `${key}=${params[key]}`
      ),
      ...(shownCredential === "" ? [] : [shownCredential])
    ].join("&")
    const exchange = Effect.flatMap(built, (request) => base.execute(request)).pipe(
      Effect.flatMap((response) => Effect.map(response.text, (text) => [response, text] as const)),
      Effect.mapError((error) => error._tag === "TransportError" ? error : toTransportError(endpoint)(error)),
      Effect.timeoutFail({
        duration: config.timeout,
        onTimeout: () =>
          new TransportError({
            reason: "Timeout",
            endpoint,
            description: `no complete answer within ${Duration.format(config.timeout)}`
          })
      })
    )
    const attempt = gate(exchange).pipe(
      Effect.tap(([response]) => Effect.annotateCurrentSpan("http.response.status_code", response.status)),
      Effect.flatMap(([response, text]) => decode(options, endpoint, allowed, response, text)),
      Effect.withSpan(`http.client ${options.method}`, {
        kind: "client",
        attributes: {
          "http.request.method": options.method,
          "server.address": origin,
          "url.path": options.path,
          "url.full": `${config.baseUrl}${options.path}${shownQuery === "" ? "" : `?${shownQuery}`}`
        }
      })
    )
    const policy = Schedule.intersect(config.retrySchedule, Schedule.identity<RetryableError>()).pipe(
      Schedule.modifyDelayEffect(([, error], delay) => {
        const millis = Math.round(Duration.toMillis(delay))
        return Effect.logDebug(`Retrying in ${Duration.format(Duration.millis(millis))}: ${error.message}`).pipe(
          Effect.annotateLogs({ endpoint, retryInMillis: millis, error: error._tag }),
          Effect.as(delay)
        )
      })
    )
    // Final failures travel in the success channel past the retry, so the policy only ever sees retryable ones.
    return attempt.pipe(
      Effect.map(Either.right),
      Effect.catchAll((error) =>
        isRetryable(options.method, error) ? Effect.fail(error) : Effect.succeed(Either.left(error))
      ),
      Effect.retry(policy),
      Effect.flatMap((result) => result)
    )
  }) as TmdbClientRequestFn

  return { request, httpClient: gatedClient, config }
}
