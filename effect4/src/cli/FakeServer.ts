/**
 * `tmdb-auth fake-server`: FakeTmdb on 127.0.0.1 for test suites in any language, with its control API under
 * `/__fake/` and what a suite sets up front as flags.
 */
import { Command, Flag } from "effect/cli"
import * as Console from "effect/Console"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { UserBody, V4TokenBody } from "../internal/fakeControl.js"
import type { FakeTmdbOptions, LoggedRequest, RandomFaults, ServeOptions } from "../testing/FakeTmdb.js"
import { FakeTmdb } from "../testing/FakeTmdb.js"
import { switchFlag } from "./Connection.js"
import { schemaErrorText, UsageError } from "./Exit.js"

const UsersFile = Schema.fromJsonString(Schema.Array(UserBody))

const V4TokensFile = Schema.fromJsonString(Schema.Array(V4TokenBody))

/** `--token-ttl 90`, `--token-ttl "2 minutes"`: whole seconds, or Effect's duration syntax. */
export const parseTtl = (flag: string, text: string): Effect.Effect<Duration.Duration, UsageError> => {
  const trimmed = text.trim()
  const duration = /^\d+$/.test(trimmed)
    ? Option.some(Duration.seconds(Number(trimmed)))
    : Duration.fromInput(trimmed as Duration.Input)
  return Option.isSome(duration) && Duration.isFinite(duration.value) && Duration.toMillis(duration.value) > 0
    ? Effect.succeed(duration.value)
    : Effect.fail(
      new UsageError({
        message: `${flag} must be a positive duration: seconds (${flag} 90) or a duration such as "2 minutes", not ${
          JSON.stringify(text)
        }`
      })
    )
}

const faultKinds = ["rateLimited", "unavailable", "connectionReset", "truncated", "delayed"] as const

/**
 * `--faults SEED:RATE` (RATE of the requests get a fault, spread evenly over 429, 503, connection reset and
 * truncated JSON) or `--faults SEED:KIND=RATE,KIND=RATE` (kinds: rateLimited, unavailable, connectionReset,
 * truncated, delayed).
 */
export const parseFaults = (text: string): Effect.Effect<RandomFaults, UsageError> => {
  const usage = (why: string) =>
    Effect.fail(
      new UsageError({
        message:
          `--faults ${why}: use SEED:RATE (e.g. 7:0.1) or SEED:KIND=RATE,... (e.g. 7:rateLimited=0.1,connectionReset=0.05) with kinds ${
            faultKinds.join(", ")
          } and rates from 0 to 1`
      })
    )
  const match = /^(-?\d+):(.+)$/.exec(text.trim())
  if (match === null) return usage(`is ${JSON.stringify(text)}`)
  const seed = Number(match[1])
  const rate = (value: string) => {
    const n = Number(value)
    return value.trim() !== "" && Number.isFinite(n) && n >= 0 && n <= 1 ? n : undefined
  }
  const spec = match[2]!
  if (!spec.includes("=")) {
    const total = rate(spec)
    if (total === undefined) return usage(`rate ${JSON.stringify(spec)} is not a number from 0 to 1`)
    const each = total / 4
    return Effect.succeed({ seed, rateLimited: each, unavailable: each, connectionReset: each, truncated: each })
  }
  const faults: Record<string, number> = { seed }
  let sum = 0
  for (const part of spec.split(",")) {
    const [kind = "", value = ""] = part.split("=")
    if (!(faultKinds as ReadonlyArray<string>).includes(kind.trim())) {
      return usage(`has an unknown kind ${JSON.stringify(kind)}`)
    }
    const r = rate(value)
    if (r === undefined) return usage(`rate ${JSON.stringify(value)} for ${kind} is not a number from 0 to 1`)
    faults[kind.trim()] = r
    sum += r
  }
  return sum > 1 ? usage(`rates add up to ${sum}, more than 1`) : Effect.succeed(faults as RandomFaults)
}

const readJsonFile = <A>(flag: string, path: string, schema: Schema.Codec<A, string>) =>
  Effect.flatMap(FileSystem.FileSystem, (fs) => fs.readFileString(path)).pipe(
    Effect.flatMap(Schema.decodeUnknownEffect(schema)),
    Effect.mapError((error) =>
      new UsageError({
        message: `cannot read ${flag}: ${Schema.isSchemaError(error) ? schemaErrorText(error) : error.message}`
      })
    )
  )

/** One line per request for `--verbose`: time, method, path, status (and TMDB's code). Never a query or a body. */
const requestLine = (request: LoggedRequest) =>
  `${DateTime.formatIso(request.at).slice(11, 23)} ${request.method} ${request.path} ${request.status}${
    request.statusCode === undefined ? "" : ` (code ${request.statusCode})`
  }${request.credential === "none" ? "" : ` [${request.credential}]`}\n`

const optionalText = (name: string, description: string) =>
  Flag.String(name).pipe(Flag.withDescription(description), Flag.optional)

export const fakeServer = Command.make(
  "fake-server",
  {
    port: Flag.Int("port").pipe(
      Flag.withDescription("port to listen on (0: a free one)"),
      Flag.withDefault(0)
    ),
    accessTokens: Flag.String("access-token").pipe(
      Flag.withDescription("a read access token the fake accepts (repeatable; default the fake's own, printed)"),
      Flag.atLeast(0)
    ),
    apiKeys: Flag.String("api-key").pipe(
      Flag.withDescription("an API key the fake accepts (repeatable; default fake-api-key)"),
      Flag.atLeast(0)
    ),
    users: Flag.File("users", { mustExist: true }).pipe(
      Flag.withDescription(
        "JSON file: [{\"username\", \"password\", \"status\"?: \"disabled\" | \"unverified\", \"name\"?}] (default demo / demo-password)"
      ),
      Flag.optional
    ),
    v4AccessTokens: Flag.File("v4-access-tokens", { mustExist: true }).pipe(
      Flag.withDescription("JSON file: [{\"access_token\", \"username\"}], v4 user access tokens convert/4 accepts"),
      Flag.optional
    ),
    tokenTtl: optionalText(
      "token-ttl",
      "how long a request token lives: seconds or e.g. \"2 minutes\" (default 60 minutes)"
    ),
    guestTtl: optionalText(
      "guest-ttl",
      "how long a guest session lives: seconds or e.g. \"1 hour\" (default 24 hours)"
    ),
    rateLimit: Flag.Int("rate-limit").pipe(
      Flag.withDescription("answer at most N requests per second, then 429 with Retry-After (0: no limit)"),
      Flag.optional
    ),
    faults: optionalText(
      "faults",
      "seeded random faults: SEED:RATE (spread over 429, 503, reset, truncated) or SEED:KIND=RATE,..."
    ),
    control: Flag.Boolean("control").pipe(
      Flag.withDescription("serve (--control, the default) or not (--no-control) the control API under /__fake/"),
      Flag.withDefault(true)
    ),
    interactiveApproval: switchFlag(
      "interactive-approval",
      "the approval page asks, as TMDB's does: which user, Approve or Deny, naming the app that asks (default: approve at once)"
    ),
    json: switchFlag("json", "print the URL, credentials and control base as one JSON line (for scripts)"),
    verbose: switchFlag("verbose", "print each request on one line to standard error (never a secret)")
  },
  (flags) =>
    Effect.gen(function*() {
      if (!(flags.port >= 0 && flags.port <= 65535)) {
        return yield* Effect.fail(
          new UsageError({ message: `--port must be from 0 (a free port) to 65535, not ${flags.port}` })
        )
      }
      if (Option.isSome(flags.rateLimit) && flags.rateLimit.value < 0) {
        return yield* Effect.fail(
          new UsageError({
            message: `--rate-limit must be 0 (no limit) or a positive number, not ${flags.rateLimit.value}`
          })
        )
      }
      const users = Option.isSome(flags.users)
        ? yield* readJsonFile("--users", flags.users.value, UsersFile)
        : undefined
      const v4 = Option.isSome(flags.v4AccessTokens)
        ? yield* readJsonFile("--v4-access-tokens", flags.v4AccessTokens.value, V4TokensFile)
        : undefined
      const tokenTtl = Option.isSome(flags.tokenTtl) ? yield* parseTtl("--token-ttl", flags.tokenTtl.value) : undefined
      const guestTtl = Option.isSome(flags.guestTtl) ? yield* parseTtl("--guest-ttl", flags.guestTtl.value) : undefined
      const faults = Option.isSome(flags.faults) ? yield* parseFaults(flags.faults.value) : undefined
      const rateLimit = Option.getOrElse(flags.rateLimit, () => 0)
      const accessTokens = flags.accessTokens.length > 0 ? flags.accessTokens : [FakeTmdb.defaults.accessToken]
      const apiKeys = flags.apiKeys.length > 0 ? flags.apiKeys : [FakeTmdb.defaults.apiKey]
      const options: FakeTmdbOptions & ServeOptions = {
        port: flags.port,
        control: flags.control,
        interactiveApproval: flags.interactiveApproval,
        accessTokens,
        apiKeys,
        ...(users === undefined ? {} : { users }),
        ...(v4 === undefined
          ? {}
          : { v4AccessTokens: v4.map((t) => ({ accessToken: t.access_token, username: t.username })) }),
        ...(tokenTtl === undefined ? {} : { requestTokenLifetime: tokenTtl }),
        ...(guestTtl === undefined ? {} : { guestSessionLifetime: guestTtl }),
        ...(rateLimit > 0 ? { rateLimit: { requests: rateLimit, window: "1 second" } } : {}),
        ...(faults === undefined ? {} : { faults }),
        ...(flags.verbose ? { onRequest: (request: LoggedRequest) => process.stderr.write(requestLine(request)) } : {})
      }
      const server = yield* FakeTmdb.serve(options)
      const control = flags.control ? `${server.url}/__fake` : null
      const defaultUser = users === undefined ? FakeTmdb.defaults.user : undefined
      if (flags.json) {
        yield* Console.log(JSON.stringify({
          url: server.url,
          port: server.port,
          access_token: accessTokens[0],
          api_key: apiKeys[0],
          control,
          users: (users ?? [FakeTmdb.defaults.user]).map((user) => user.username),
          ...(defaultUser === undefined
            ? {}
            : { user: { username: defaultUser.username, password: defaultUser.password } })
        }))
      } else {
        // One write, so that a tool reading the first line finds the others with it.
        yield* Console.log([
          `FakeTmdb listening on ${server.url}`,
          `  read access token: ${accessTokens[0]}`,
          `  api key:           ${apiKeys[0]}`,
          defaultUser === undefined
            ? `  users:             ${users?.length ?? 0} from the file`
            : `  user:              ${defaultUser.username} / ${defaultUser.password}`,
          control === null ? "  control API:       off" : `  control API:       ${control} (docs/testing.md)`
        ].join("\n"))
      }
      if (!flags.json) yield* Console.error("Press Ctrl-C to stop.")
      return yield* Effect.never
    }).pipe(Effect.scoped)
).pipe(Command.withDescription(
  "Run the fake TMDB on 127.0.0.1 for other tools, until Ctrl-C. Its control API under /__fake/ (on by default) approves tokens, scripts faults, moves the clock and reads the state: see docs/testing.md."
))
