/**
 * How the CLI ends: one clear sentence and a distinct exit code per kind of expected failure.
 */
import * as Cause from "effect/Cause"
import { CliError } from "effect/cli"
import * as Config from "effect/Config"
import * as Data from "effect/Data"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"
import * as Terminal from "effect/Terminal"
import { ApprovalDenied, ApprovalTimeout } from "../Approval.js"
import { missingCredentialMessage } from "../TmdbConfig.js"
import { isAuthError } from "../TmdbError.js"
import { plain } from "./Output.js"

/** The exit codes, as documented in `tmdb-auth --help` and the README. */
export const ExitCodes = {
  ok: 0,
  usage: 2,
  invalidCredentials: 3,
  invalidApiKey: 4,
  rateLimited: 5,
  unreachable: 6,
  loginIncomplete: 7,
  approvalTimeout: 8,
  sessionNotFound: 9,
  tmdbError: 10,
  cannotListen: 11,
  defect: 70,
  interrupted: 130
} as const

export const exitCodesHelp = [
  "Exit codes:",
  "  0  success",
  "  2  invalid command line or configuration (e.g. TMDB_TIMEOUT)",
  "  3  wrong username or password, account disabled or email not verified",
  "  4  missing, invalid or suspended API key or read access token",
  "  5  still rate limited by TMDB after the retries",
  "  6  TMDB could not be reached or is unavailable (network, timeout, 5xx)",
  "  7  the login could not complete (request token expired or not approved, v4 token refused)",
  "  8  no approval in the browser before the timeout",
  "  9  no such session",
  " 10  any other TMDB error or an answer that could not be read",
  " 11  a local server (fake-server, or the login --browser callback) could not listen (e.g. the port is in use)",
  " 70  unexpected internal error (a bug: the cause is printed)",
  "130  interrupted (Ctrl-C)"
].join("\n")

/** An expected failure, already reported to the user: the program ends with `code`. */
export class CliExit extends Data.TaggedError("CliExit")<{ readonly code: number }> {}

/** A command-line mistake found after parsing (exit 2). */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string }> {}

/** Ends a message with one full stop. */
const sentence = (text: string) => /[.!?]$/.test(text) ? text : `${text}.`

const standardIssues = SchemaIssue.makeFormatterStandardSchemaV1()

/** Where a schema issue is: `TMDB_TIMEOUT`, `[0].username`. */
const issuePath = (path: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }>) =>
  path.map((segment, i) => {
    const key = typeof segment === "object" ? segment.key : segment
    return typeof key === "number" ? `[${key}]` : i === 0 ? String(key) : `.${String(key)}`
  }).join("")

/** The issues a `SchemaError` holds, one clause each, on one line: `WHERE: what is wrong`. */
export const schemaErrorText = (error: Schema.SchemaError): string =>
  standardIssues(error.issue).issues
    .map(({ message, path = [] }) => path.length === 0 ? message : `${issuePath(path)}: ${message}`)
    .join("; ")

/** The mistakes a `ConfigError` holds, one clause each: `WHERE: what is wrong`. */
export const configErrorText = (error: Config.ConfigError): string =>
  Schema.isSchemaError(error.cause) ? schemaErrorText(error.cause) : error.cause.message

/** The command-line mistakes effect/cli found, on one line. */
const cliErrorsText = (errors: ReadonlyArray<CliError.CliError>): string =>
  errors.map((error) => error.message.trim().replace(/\s*\n\s*/g, " ")).join("; ")

/** How an expected failure is reported: exit code, one sentence, and a tag for `--json` output. */
export interface Failure {
  readonly code: number
  readonly sentence: string
  readonly tag: string
  /** effect/cli has already printed it (a command-line mistake). */
  readonly shown?: boolean
}

/** What to tell the user for an expected failure, and the exit code; undefined for anything unexpected. */
export const describeFailure = (error: unknown): Failure | undefined => {
  const failure = describe(error)
  if (failure === undefined) return undefined
  const tag = CliError.isCliError(error) || error instanceof UsageError
    ? "UsageError"
    : Predicate.hasProperty(error, "_tag") && typeof error._tag === "string"
    ? error._tag
    : error instanceof Config.ConfigError
    ? "ConfigError"
    : "Error"
  return { ...failure, tag }
}

const describe = (error: unknown): Omit<Failure, "tag"> | undefined => {
  if (CliError.isCliError(error)) {
    // `tmdb-auth` alone: effect/cli has shown the help, as for --help.
    if (error._tag === "ShowHelp" && error.errors.length === 0) return { code: ExitCodes.ok, sentence: "", shown: true }
    const text = plain(cliErrorsText(error._tag === "ShowHelp" ? error.errors : [error]))
    return { code: ExitCodes.usage, sentence: text === "" ? "" : sentence(text), shown: error._tag === "ShowHelp" }
  }
  if (error instanceof UsageError) return { code: ExitCodes.usage, sentence: sentence(error.message) }
  // Ctrl-C at a prompt: the same as Ctrl-C anywhere else.
  if (Terminal.isQuitError(error)) return { code: ExitCodes.interrupted, sentence: "" }
  if (error instanceof Config.ConfigError) {
    return String(error).includes(missingCredentialMessage)
      ? {
        code: ExitCodes.invalidApiKey,
        sentence: "No TMDB credential: set TMDB_ACCESS_TOKEN (or TMDB_API_KEY), or pass --access-token (or --api-key)."
      }
      : { code: ExitCodes.usage, sentence: sentence(`Invalid configuration: ${configErrorText(error)}`) }
  }
  if (Predicate.isTagged(error, "ServeError")) {
    const cause = (error as { readonly cause?: unknown }).cause
    const code = Predicate.hasProperty(cause, "code") ? ` (${String(cause.code)})` : ""
    return { code: ExitCodes.cannotListen, sentence: `Could not start a local server${code}.` }
  }
  if (error instanceof ApprovalTimeout) {
    return { code: ExitCodes.approvalTimeout, sentence: `${error.message}; run the command again to retry.` }
  }
  if (error instanceof ApprovalDenied) return { code: ExitCodes.loginIncomplete, sentence: sentence(error.message) }
  if (!isAuthError(error)) return undefined
  switch (error._tag) {
    case "InvalidCredentials":
      return {
        code: ExitCodes.invalidCredentials,
        sentence: {
          WrongLogin: "TMDB refused the login: the username or password is wrong.",
          Missing: "TMDB refused the login: a username and a password are both required.",
          AccountDisabled: "TMDB refused the login: this account is disabled.",
          EmailNotVerified: "TMDB refused the login: this account's email address is not verified yet."
        }[error.reason]
      }
    case "InvalidApiKey":
    case "AccessTokenRequired":
      return { code: ExitCodes.invalidApiKey, sentence: sentence(error.message) }
    case "RateLimited":
      return { code: ExitCodes.rateLimited, sentence: `${error.message.replace(/\.+$/, "")}; try again later.` }
    case "TransportError":
    case "TmdbUnavailable":
      return { code: ExitCodes.unreachable, sentence: sentence(error.message) }
    case "TokenExpired":
    case "SessionDenied":
    case "InvalidToken":
      return { code: ExitCodes.loginIncomplete, sentence: sentence(error.message) }
    case "SessionNotFound":
      return { code: ExitCodes.sessionNotFound, sentence: sentence(error.message) }
    case "TmdbError":
    case "MalformedResponse":
      return { code: ExitCodes.tmdbError, sentence: sentence(error.message) }
  }
}

/** The process exit code for how the program ended; prints the cause of a defect. */
export const exitCodeOf = (exit: Exit.Exit<unknown, unknown>, printDefect: (text: string) => void): number => {
  if (Exit.isSuccess(exit)) return ExitCodes.ok
  if (Cause.hasInterruptsOnly(exit.cause)) return ExitCodes.interrupted
  const failure = Cause.findErrorOption(exit.cause)
  if (Option.isSome(failure) && failure.value instanceof CliExit) return failure.value.code
  printDefect(`tmdb-auth: unexpected error (please report it):\n${Cause.pretty(exit.cause)}`)
  return ExitCodes.defect
}
