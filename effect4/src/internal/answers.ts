/**
 * An answer, decoded: the body's JSON against the request's schema, or TMDB's error table (core/errorTable.ts) for an
 * answer that is not a success, the server's words scrubbed of the request's secrets. Field paths are reported for a
 * body that does not decode, never the values found there.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import { retryAfterMillis } from "../../core/retryAfter.js"
import { scrubSecrets } from "../../core/scrub.js"
import { GuestSession, Session } from "../Session.js"
import type { TmdbClientRequest } from "../TmdbClient.js"
import type { TmdbConfigShape } from "../TmdbConfig.js"
import type { RequestError, SessionNotFound } from "../TmdbError.js"
import { MalformedResponse } from "../TmdbError.js"
import type { ErrorOf, SpecificTag } from "./errorTable.js"
import { fromAnswer } from "./errorTable.js"
import { ErrorBody } from "./wire.js"
import type { WireAnswer } from "./wireExchange.js"

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
const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1()
const issuesOf = (error: Schema.SchemaError): Array<string> => {
  const paths = formatIssues(error.issue).issues.map((issue) =>
    issue.path === undefined || issue.path.length === 0 ? "body" : issue.path.map(String).join(".")
  )
  return [...new Set(paths)].map((path) => `unexpected value at ${path}`)
}

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

/** Decodes the answers of requests made with `credential`, bodies capped at `maxBytes`. */
export const makeDecode = (credential: TmdbConfigShape["credential"], maxBytes: number) => {
  // A decoder per response schema, built on first use.
  const decoders = new WeakMap<Schema.Top, (input: unknown) => Result.Result<unknown, Schema.SchemaError>>()
  const decoderOf = <A, I>(schema: Schema.Codec<A, I>) => {
    let decoder = decoders.get(schema)
    if (decoder === undefined) {
      decoder = Schema.decodeUnknownResult(schema)
      decoders.set(schema, decoder)
    }
    return decoder as (input: unknown) => Result.Result<A, Schema.SchemaError>
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
    options: TmdbClientRequest<A, I, T>,
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
      return Result.isSuccess(decoded)
        ? Effect.succeed(decoded.success)
        : Effect.fail(
          new MalformedResponse({
            endpoint,
            httpStatus: status,
            issues: json === noJson ? ["the body is not JSON"] : issuesOf(decoded.failure)
          })
        )
    }
    const body = json === noJson ? Option.none() : decodeErrorBody(json)
    const statusMessage = Option.getOrUndefined(Option.flatMapNullishOr(body, (b) => b.status_message))
    return Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.fail(
        fromAnswer({
          endpoint,
          httpStatus: status,
          statusCode: Option.getOrUndefined(Option.flatMapNullishOr(body, (b) => b.status_code)),
          // The server's words may quote the request (a proxy echoing it): no secret of it comes back that way.
          statusMessage: statusMessage === undefined ? undefined : scrubSecrets(statusMessage, secretsOf(options)),
          retryAfter: parseRetryAfter(answer.retryAfter, now),
          credential: credential._tag,
          withSession: options.session !== undefined
        }, allowed) as RequestError | ErrorOf<T> | SessionNotFound
      ))
  }

  return decode
}
