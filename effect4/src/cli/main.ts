#!/usr/bin/env node
/**
 * The `tmdb-auth` executable: runs the CLI, reports expected failures in one sentence (or, with `--json`, as one JSON
 * object on stderr) with a distinct exit code, prints the cause of anything unexpected and exits 70.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { CliOutput } from "effect/cli"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { run } from "./Cli.js"
import { CliExit, describeFailure, exitCodeOf } from "./Exit.js"
import { withPlainOutput } from "./Output.js"

// Read before parsing, so that even a command line effect/cli refuses is reported as JSON, for the commands that
// take --json (effect/cli prints the mistake itself first; the JSON object is the last line).
const args = process.argv.slice(2)
const json = args.includes("--json") && ["login", "guest"].includes(args.find((arg) => !arg.startsWith("-")) ?? "")

/**
 * effect/cli's presenter, with what 0.x printed where it differs: a command-line mistake alone, on stderr (not the
 * help), and `--version` as the bare version number.
 */
const presenter: CliOutput.Presenter = {
  present: (event) =>
    event._tag === "InvalidInvocation"
      ? Console.error(`${event.errors.map((error) => error.message).join("\n")}\n`)
      : event._tag === "Version"
      ? Console.log(event.version)
      : CliOutput.defaultPresenter.present(event)
}

const program = run.pipe(
  Effect.catch((error) => {
    const failure = describeFailure(error)
    if (failure === undefined) return Effect.die(error)
    const report = json
      ? Console.error(JSON.stringify({ error: failure.tag, message: failure.sentence, exitCode: failure.code }))
      : failure.sentence === "" || failure.shown === true
      ? Effect.void
      : Console.error(`tmdb-auth: ${failure.sentence}`)
    return Effect.andThen(report, Effect.fail(new CliExit({ code: failure.code })))
  }),
  withPlainOutput,
  Effect.provide(Layer.merge(NodeServices.layer, CliOutput.layerPresenter(presenter)))
)

NodeRuntime.runMain(program, {
  disableErrorReporting: true,
  teardown: (exit, onExit) => onExit(exitCodeOf(exit, (text) => process.stderr.write(`${text}\n`)))
})
