/**
 * The browser approval flow as one effect: a local callback server, the approval URL pointing at it, and the
 * wait for TMDB's redirect.
 *
 * @since 0.1.0
 */
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as HttpServerError from "effect/http/HttpServerError"
import * as HttpServerRequest from "effect/http/HttpServerRequest"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import * as NetAddress from "effect/net/NetAddress"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { AuthService } from "./AuthService.js"
import { nodeHttpServer } from "./internal/nodePlatform.js"
import type { RequestToken } from "./RequestToken.js"

/**
 * No approval arrived in time.
 *
 * @since 0.1.0
 */
export class ApprovalTimeout extends Schema.TaggedError<ApprovalTimeout>()("ApprovalTimeout", {
  timeout: Schema.Duration
}) {
  override get message(): string {
    return `The request token was not approved within ${Duration.format(this.timeout)}`
  }
}

/**
 * TMDB redirected back without approval (the user declined).
 *
 * @since 0.1.0
 */
export class ApprovalDenied extends Schema.TaggedError<ApprovalDenied>()("ApprovalDenied", {}) {
  override get message(): string {
    return "The request token was not approved: the user declined on TMDB's page"
  }
}

/**
 * Options of {@link awaitApproval}.
 *
 * @since 0.1.0
 */
export interface AwaitApprovalOptions {
  /** Where the local callback server listens. Default 127.0.0.1, a free port, path `/callback`. */
  readonly callback?: { readonly host?: string; readonly port?: number; readonly path?: string }
  /** How long to wait for the user. Default 5 minutes. */
  readonly timeout?: Duration.Input
  /** Called with the approval URL once the callback server listens: show it to the user, open a browser. */
  readonly onApprovalUrl?: (url: string) => Effect.Effect<void>
}

const page = (title: string, text: string) =>
  HttpServerResponse.html(
    `<!doctype html><meta charset="utf-8"><title>${title}</title><h1>${title}</h1><p>${text}</p>`
  )

/**
 * Starts a callback server on 127.0.0.1, builds TMDB's approval URL with `redirect_to` pointing at it, hands the URL
 * to `onApprovalUrl`, and completes with the approved `RequestToken` when TMDB redirects there
 * (`?request_token=...&approved=true`). Interruptible; the server stops when it completes, fails or is interrupted.
 *
 * @example
 * ```ts
 * const token = yield* auth.createRequestToken
 * const approved = yield* awaitApproval(token, { onApprovalUrl: (url) => Console.log(`Approve at ${url}`) })
 * const session = yield* auth.createSession(approved)
 * ```
 * @since 0.1.0
 */
export const awaitApproval = (
  requestToken: RequestToken,
  options: AwaitApprovalOptions = {}
): Effect.Effect<RequestToken, ApprovalTimeout | ApprovalDenied | HttpServerError.ServeError, AuthService> =>
  Effect.gen(function*() {
    const auth = yield* AuthService
    const timeout = Duration.fromInputUnsafe(options.timeout ?? Duration.minutes(5))
    const path = options.callback?.path ?? "/callback"
    const expected = Redacted.value(requestToken.token)
    const outcome = yield* Deferred.make<RequestToken, ApprovalDenied>()
    const { Http, NodeHttpServer } = yield* nodeHttpServer("awaitApproval")
    const server = yield* NodeHttpServer.make(() => Http.createServer(), {
      host: options.callback?.host ?? "127.0.0.1",
      port: options.callback?.port ?? 0
    })
    yield* server.serve(Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const url = new URL(request.url, "http://127.0.0.1")
      if (url.pathname !== path || url.searchParams.get("request_token") !== expected) {
        return HttpServerResponse.text("Not found", { status: 404 })
      }
      if (url.searchParams.get("approved") !== "true") {
        yield* Deferred.fail(outcome, new ApprovalDenied())
        return page("Not approved", "The request was declined. You can close this window.")
      }
      yield* Deferred.succeed(outcome, requestToken)
      return page("Approved", "You are logged in. You can close this window.")
    }))
    const approvalUrl = auth.approvalUrl(requestToken, {
      redirectTo: `${NetAddress.formatUrlUnsafe(server.address)}${path}`
    })
    if (options.onApprovalUrl !== undefined) yield* options.onApprovalUrl(approvalUrl)
    return yield* Deferred.await(outcome).pipe(
      Effect.timeoutOrElse({ duration: timeout, orElse: () => Effect.fail(new ApprovalTimeout({ timeout })) })
    )
  }).pipe(Effect.scoped, Effect.withSpan("AuthService.awaitApproval"))
