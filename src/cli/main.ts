#!/usr/bin/env node
/**
 * The `tmdb-auth` executable: runs the CLI, reports expected failures in one sentence (or, with `--json`, as one JSON
 * object on stderr) with a distinct exit code, prints the cause of anything unexpected and exits 70.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { run } from "./Cli.js"
import { CliExit, describeFailure, exitCodeOf } from "./Exit.js"
import { withPlainOutput } from "./Output.js"

// Read before parsing, so that even a command line @effect/cli refuses is reported as JSON, for the commands that
// take --json (@effect/cli prints its own usage text for such a mistake first; the JSON object is the last line).
const args = process.argv.slice(2)
const json = args.includes("--json") && ["login", "guest"].includes(args.find((arg) => !arg.startsWith("-")) ?? "")

const program = run(process.argv).pipe(
  Effect.catchAll((error) => {
    const failure = describeFailure(error)
    if (failure === undefined) return Effect.die(error)
    const report = json
      ? Console.error(JSON.stringify({ error: failure.tag, message: failure.sentence, exitCode: failure.code }))
      : failure.sentence === "" || failure.shown === true
      ? Effect.void
      : Console.error(`tmdb-auth: ${failure.sentence}`)
    return Effect.zipRight(report, Effect.fail(new CliExit({ code: failure.code })))
  }),
  withPlainOutput,
  Effect.provide(NodeContext.layer)
)

NodeRuntime.runMain(program, {
  disableErrorReporting: true,
  disablePrettyLogger: true,
  teardown: (exit, onExit) => onExit(exitCodeOf(exit, (text) => process.stderr.write(`${text}\n`)))
})
