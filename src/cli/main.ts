#!/usr/bin/env node
/**
 * The `tmdb-auth` executable: runs the CLI, reports expected failures in one sentence with a distinct exit code,
 * prints the cause of anything unexpected and exits 70.
 */
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Console, Effect } from "effect"
import { run } from "./Cli.js"
import { CliExit, describeFailure, exitCodeOf } from "./Exit.js"

const program = run(process.argv).pipe(
  Effect.catchAll((error) => {
    const failure = describeFailure(error)
    if (failure === undefined) return Effect.die(error)
    const report = failure.sentence === "" ? Effect.void : Console.error(`tmdb-auth: ${failure.sentence}`)
    return Effect.zipRight(report, Effect.fail(new CliExit({ code: failure.code })))
  }),
  Effect.provide(NodeContext.layer)
)

NodeRuntime.runMain(program, {
  disableErrorReporting: true,
  disablePrettyLogger: true,
  teardown: (exit, onExit) => onExit(exitCodeOf(exit, (text) => process.stderr.write(`${text}\n`)))
})
