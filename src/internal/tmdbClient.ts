/**
 * The TMDB HTTP pipeline shared by every endpoint: authenticate, send, time out, decode, map errors, retry.
 * The application credential leaves its `Redacted` wrapper only here, on its way to the wire.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
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
import { TmdbConfig } from "../TmdbConfig.js"
import type { RetryableError } from "../TmdbError.js"
import { MalformedResponse, TransportError } from "../TmdbError.js"
import type { RequestError } from "../TmdbError.js"
import type { ErrorOf, SpecificTag } from "./errorTable.js"
import { fromAnswer } from "./errorTable.js"
import { ErrorBody } from "./wire.js"

export type Method = "GET" | "POST" | "DELETE"

export interface RequestOptions<A, I, T extends SpecificTag> {
  readonly method: Method
  readonly path: string
  /** JSON body; secrets are unwrapped by the caller at this point only. */
  readonly body?: Record<string, unknown>
  readonly response: Schema.Schema<A, I>
  /** The endpoint-specific errors this request can produce; other codes become `TmdbError`. */
  readonly errors: ReadonlyArray<T>
}

export type Send = <A, I, T extends SpecificTag = never>(
  options: RequestOptions<A, I, T>
) => Effect.Effect<A, RequestError | ErrorOf<T>>

const urlPattern = /\b[a-z][a-z0-9+.-]*:\/\/\S+/gi
const apiKeyPattern = /api_key=[^&\s)]+/gi

/** Platform error text may quote the URL, which in api_key mode holds the key. */
const scrub = (text: string): string => text.replace(urlPattern, "<url>").replace(apiKeyPattern, "api_key=<redacted>")

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
const parseRetryAfter = (header: string | undefined, now: DateTime.Utc): Duration.Duration | undefined => {
  if (header === undefined) return undefined
  const trimmed = header.trim()
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Duration.seconds(Number(trimmed))
  const date = DateTime.make(new Date(trimmed))
  if (Option.isNone(date)) return undefined
  const millis = DateTime.toEpochMillis(date.value) - DateTime.toEpochMillis(now)
  return Duration.millis(Math.max(0, millis))
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

/** Builds the `Send` function of an AuthService from the context's HttpClient and TmdbConfig. */
export const make = Effect.gen(function*() {
  const config = yield* TmdbConfig
  const credential = config.credential
  const authenticate = credential._tag === "AccessToken"
    ? HttpClientRequest.bearerToken(Redacted.value(credential.token))
    : HttpClientRequest.setUrlParam("api_key", Redacted.value(credential.key))
  const client = (yield* HttpClient.HttpClient).pipe(
    HttpClient.mapRequest((request) =>
      request.pipe(HttpClientRequest.prependUrl(config.baseUrl), HttpClientRequest.acceptJson, authenticate)
    ),
    // The platform's span records the full URL, api_key included; `send` records its own, redacted, span.
    HttpClient.withTracerDisabledWhen(() => true)
  )
  const origin = Option.getOrElse(
    Option.liftThrowable(() => new URL(config.baseUrl).origin)(),
    () => "invalid-url"
  )
  const query = credential._tag === "ApiKey" ? "?api_key=<redacted>" : ""

  const decode = <A, I, T extends SpecificTag>(
    options: RequestOptions<A, I, T>,
    endpoint: string,
    response: HttpClientResponse.HttpClientResponse,
    text: string
  ): Effect.Effect<A, RequestError | ErrorOf<T>> => {
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
    return Effect.flatMap(DateTime.now, (now) =>
      Effect.fail(fromAnswer({
        endpoint,
        httpStatus: status,
        statusCode: Option.getOrUndefined(Option.flatMapNullable(body, (b) => b.status_code)),
        statusMessage: Option.getOrUndefined(Option.flatMapNullable(body, (b) => b.status_message)),
        retryAfter: parseRetryAfter(response.headers["retry-after"], now),
        credential: credential._tag
      }, options.errors)))
  }

  const send: Send = <A, I, T extends SpecificTag = never>(options: RequestOptions<A, I, T>) => {
    const endpoint = `${options.method} ${options.path}`
    const base = HttpClientRequest.make(options.method)(options.path)
    const request = options.body === undefined ? base : HttpClientRequest.bodyUnsafeJson(base, options.body)
    const attempt = client.execute(request).pipe(
      Effect.flatMap((response) => Effect.map(response.text, (text) => [response, text] as const)),
      Effect.mapError(toTransportError(endpoint)),
      Effect.timeoutFail({
        duration: config.timeout,
        onTimeout: () =>
          new TransportError({
            reason: "Timeout",
            endpoint,
            description: `no complete answer within ${Duration.format(config.timeout)}`
          })
      }),
      Effect.tap(([response]) => Effect.annotateCurrentSpan("http.response.status_code", response.status)),
      Effect.flatMap(([response, text]) => decode(options, endpoint, response, text)),
      Effect.withSpan(`http.client ${options.method}`, {
        kind: "client",
        attributes: {
          "http.request.method": options.method,
          "server.address": origin,
          "url.path": options.path,
          "url.full": `${config.baseUrl}${options.path}${query}`
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
  }

  return send
})
