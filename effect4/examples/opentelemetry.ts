/**
 * Exporting the library's traces with @effect/opentelemetry, to the console. Each AuthService method is a span
 * (`AuthService.login` with its children), each HTTP attempt an `http.client` span; no span holds a secret.
 *
 * Run: npx tsx examples/opentelemetry.ts
 */
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { NodeRuntime } from "@effect/platform-node"
import { ConsoleSpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Effect, Layer } from "effect"
import { AuthService } from "effect-tmdb-auth"
import { FakeTmdb } from "effect-tmdb-auth/testing"

const Tracing = NodeSdk.layer(() => ({
  resource: { serviceName: "tmdb-auth-example" },
  spanProcessor: new SimpleSpanProcessor(new ConsoleSpanExporter())
}))

const program = Effect.gen(function*() {
  const auth = yield* AuthService
  const session = yield* auth.login({ username: "demo", password: "demo-password" })
  yield* auth.deleteSession(session)
}).pipe(Effect.withSpan("example.program"))

NodeRuntime.runMain(program.pipe(Effect.provide(Layer.merge(FakeTmdb.layerAuthService(), Tracing))))
