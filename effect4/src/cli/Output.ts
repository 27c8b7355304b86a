/**
 * What the CLI prints, as plain text where colour would be noise: ANSI escape codes are removed from everything
 * printed through `Console` (help, usage errors, results) when the stream is not a terminal or `NO_COLOR` is set.
 * Prompts (terminal only) draw with the `Terminal` service and are left as they are.
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"

// eslint-disable-next-line no-control-regex
const ansi = /\u001b\[[0-9;?]*[ -/]*[@-~]/g

/** Text without ANSI escape codes. */
export const plain = (text: string): string => text.replace(ansi, "")

/** Whether to print plain text on this stream (https://no-color.org: any non-empty NO_COLOR). */
export const wantsPlain = (stream: { readonly isTTY?: boolean }): boolean =>
  (process.env["NO_COLOR"] ?? "") !== "" || stream.isTTY !== true

const strip = (args: ReadonlyArray<unknown>) => args.map((arg) => typeof arg === "string" ? plain(arg) : arg)

/** Runs `effect` with a `Console` that prints plain text on the streams that want it. */
export const withPlainOutput = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => {
  const out = wantsPlain(process.stdout)
  const err = wantsPlain(process.stderr)
  if (!out && !err) return effect
  return Console.consoleWith((console) => {
    const log = (...args: ReadonlyArray<unknown>) => console.log(...(out ? strip(args) : args))
    const error = (...args: ReadonlyArray<unknown>) => console.error(...(err ? strip(args) : args))
    const plainConsole: Console.Console = { ...console, log, error, info: log, warn: error }
    return Effect.provideService(effect, Console.Console, plainConsole)
  })
}
