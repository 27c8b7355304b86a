/**
 * The `tmdb-auth` command line, built with effect/cli on the library's public API.
 */
import { Argument, Command, Flag, Prompt } from "effect/cli"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { spawn } from "node:child_process"
import { createRequire } from "node:module"
import { awaitApproval } from "../Approval.js"
import { AuthService } from "../AuthService.js"
import { authLayer, type ConnectionFlags, connectionOptions, progressLogger, switchFlag } from "./Connection.js"
import { demo } from "./Demo.js"
import { exitCodesHelp, UsageError } from "./Exit.js"
import { fakeServer } from "./FakeServer.js"

/** Reads one line from standard input (for piped passwords and session ids). */
const readStdinLine = Effect.callback<string>((resume) => {
  let buffer = ""
  const onData = (chunk: Buffer) => {
    buffer += chunk.toString("utf8")
    const newline = buffer.indexOf("\n")
    if (newline >= 0) finish(buffer.slice(0, newline))
  }
  const onEnd = () => finish(buffer)
  const finish = (line: string) => {
    process.stdin.off("data", onData).off("end", onEnd).pause()
    resume(Effect.succeed(line.replace(/\r$/, "")))
  }
  process.stdin.on("data", onData).on("end", onEnd).resume()
  return Effect.sync(() => process.stdin.off("data", onData).off("end", onEnd).pause())
})

const stdinIsTerminal = () => process.stdin.isTTY === true

const LoginJson = Schema.fromJsonString(
  Schema.Struct({ session_id: Schema.RedactedFromValue(Schema.Trimmed.check(Schema.isNonEmpty())) })
)

/** A session id as piped in: the bare id, or the JSON that `login --json` prints (`tmdb-auth login --json | tmdb-auth logout`). */
const sessionIdFromInput = (line: string): Effect.Effect<Redacted.Redacted<string>, UsageError> => {
  const text = line.trim()
  if (!text.startsWith("{")) {
    return text === ""
      ? Effect.fail(
        new UsageError({ message: "no session id on standard input: pass it as an argument or pipe it in" })
      )
      : Effect.succeed(Redacted.make(text))
  }
  return Schema.decodeEffect(LoginJson)(text).pipe(
    Effect.map((json) => json.session_id),
    Effect.mapError(() =>
      new UsageError({
        message: "standard input holds JSON without a \"session_id\" string (expected what login --json prints)"
      })
    )
  )
}

/** Opens the user's browser when one is available; says nothing when not (the URL is printed anyway). */
const openBrowser = (url: string) =>
  Effect.sync(() => {
    const command = process.platform === "darwin" ? "open" : process.platform === "win32" ? "explorer" : "xdg-open"
    const hasDisplay = process.platform !== "linux" ||
      (process.env["DISPLAY"] ?? process.env["WAYLAND_DISPLAY"] ?? "") !== ""
    if (!hasDisplay || process.env["TMDB_AUTH_NO_BROWSER"] !== undefined) return
    try {
      spawn(command, [url], { stdio: "ignore", detached: true }).on("error", () => {}).unref()
    } catch {
      // No browser: the printed URL is the fallback.
    }
  })

const withAuth = <A, E, R>(flags: ConnectionFlags, f: (auth: AuthService["Service"]) => Effect.Effect<A, E, R>) =>
  Effect.flatMap(AuthService, f).pipe(Effect.provide(authLayer(flags)), Effect.provide(progressLogger))

const json = switchFlag("json", "print JSON instead of text")

// login ------------------------------------------------------------------------------------------------------

const login = Command.make(
  "login",
  {
    ...connectionOptions,
    username: Flag.String("username").pipe(
      Flag.withAlias("u"),
      Flag.withDescription("TMDB username (prompted for when omitted)"),
      Flag.optional
    ),
    browser: switchFlag(
      "browser",
      "approve in the browser instead of typing the password: prints the approval URL and waits for TMDB's redirect on 127.0.0.1"
    ),
    timeout: Flag.Int("timeout").pipe(
      Flag.withDescription("seconds to wait for the approval in the browser"),
      Flag.withDefault(300)
    ),
    json
  },
  (flags) =>
    withAuth(flags, (auth) =>
      Effect.gen(function*() {
        const session = flags.browser
          ? yield* Effect.gen(function*() {
            const token = yield* auth.createRequestToken
            const approved = yield* awaitApproval(token, {
              timeout: Duration.seconds(flags.timeout),
              onApprovalUrl: (url) =>
                Effect.andThen(
                  Console.error(
                    `Open this page to approve the login:\n  ${url}\nWaiting for the approval in the browser (up to ${flags.timeout} s)...`
                  ),
                  openBrowser(url)
                )
            }).pipe(Effect.provideService(AuthService, auth))
            return yield* auth.createSession(approved)
          })
          : yield* Effect.gen(function*() {
            const username = Option.isSome(flags.username)
              ? flags.username.value
              : stdinIsTerminal()
              ? yield* Prompt.String({ message: "TMDB username" })
              : yield* Effect.fail(
                new UsageError({ message: "pass --username when the password comes from standard input" })
              )
            const password = stdinIsTerminal()
              ? yield* Prompt.Hidden({ message: "TMDB password (hidden)" })
              : Redacted.make(yield* readStdinLine)
            return yield* auth.login({ username, password })
          })
        // The one secret this program prints: the session id the user asked for.
        const sessionId = Redacted.value(session.sessionId)
        yield* Console.log(flags.json ? JSON.stringify({ session_id: sessionId }) : sessionId)
      }))
).pipe(Command.withDescription(
  "Log in and print the new session id. The password is read from a hidden prompt, or from standard input when it is not a terminal (never from a flag)."
))

// guest, logout, validate-key ------------------------------------------------------------------------------

const guest = Command.make(
  "guest",
  { ...connectionOptions, json },
  (flags) =>
    withAuth(flags, (auth) =>
      Effect.gen(function*() {
        const guest = yield* auth.createGuestSession
        const id = Redacted.value(guest.guestSessionId)
        yield* Console.log(
          flags.json ? JSON.stringify({ guest_session_id: id, expires_at: guest.expiresAt.toJSON() }) : id
        )
      }))
).pipe(Command.withDescription("Create a guest session and print its id (it expires 24 hours after creation)."))

const logout = Command.make(
  "logout",
  {
    ...connectionOptions,
    sessionId: Argument.Redacted("session-id").pipe(
      Argument.withDescription(
        "the session to delete; `-` or none reads it from standard input, as the id or as the JSON `login --json` prints"
      ),
      Argument.optional
    )
  },
  (flags) =>
    withAuth(flags, (auth) =>
      Effect.gen(function*() {
        const given = Option.filter(flags.sessionId, (id) => Redacted.value(id) !== "-")
        const sessionId = Option.isSome(given) ? given.value : yield* Effect.flatMap(readStdinLine, sessionIdFromInput)
        yield* auth.deleteSession(sessionId)
        yield* Console.log("Session deleted.")
      }))
).pipe(Command.withDescription("Delete a session (log out)."))

const validateKey = Command.make(
  "validate-key",
  connectionOptions,
  (flags) => withAuth(flags, (auth) => Effect.andThen(auth.validateKey, Console.log("TMDB accepts the credential.")))
).pipe(
  Command.withDescription("Check that TMDB accepts the API key or read access token.")
)

// demo -------------------------------------------------------------------------------------------

const demoCommand = Command.make("demo", connectionOptions, demo).pipe(Command.withDescription(
  "Walk through the whole authentication story. Without credentials it runs against an embedded fake TMDB on a free loopback port; with TMDB_ACCESS_TOKEN or TMDB_API_KEY it runs the steps that need no user account against TMDB."
))

/** Paragraphs for a description: effect/cli indents its first line, so the others get the same indentation. */
const paragraphs = (blocks: ReadonlyArray<string>) =>
  blocks.join("\n\n").split("\n").map((line, i) => i === 0 || line === "" ? line : `  ${line}`).join("\n")

export const command = Command.make("tmdb-auth").pipe(
  Command.withDescription(paragraphs([
    "Authenticate against The Movie Database (TMDB): log in, guest sessions, logout, key checks, and a fake TMDB for testing.",
    "Credentials: TMDB_ACCESS_TOKEN (preferred) or TMDB_API_KEY, or --access-token / --api-key; TMDB_BASE_URL or --base-url for another server.",
    exitCodesHelp
  ])),
  Command.withSubcommands([demoCommand, login, guest, logout, validateKey, fakeServer])
)

// The package's own package.json: two levels up from both src/cli/Cli.ts and the bundled dist/cli/main.js.
const { version } = createRequire(import.meta.url)("../../package.json") as { readonly version: string }

export const run = Command.run(command, { version })
