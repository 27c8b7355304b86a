/**
 * The ```ts examples in the JSDoc of src/ are fragments (they assume `auth`, `username`...), so they are not type-checked;
 * this checks that each at least parses as TypeScript and calls no API that Effect 4 removed or renamed, so that no
 * example ships broken.
 */
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import ts from "typescript"
import { describe, expect, it } from "vitest"

const src = fileURLToPath(new URL("../src", import.meta.url))

const files = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? files(join(dir, entry.name)) : entry.name.endsWith(".ts") ? [join(dir, entry.name)] : []
  )

const examples = files(src).flatMap((file) =>
  Array.from(readFileSync(file, "utf8").matchAll(/```ts\n([\s\S]*?)```/g), (match) => ({
    file: file.slice(src.length + 1),
    code: match[1]!.split("\n").map((line) => line.replace(/^\s*\* ?/, "")).join("\n")
  }))
)

/** Effect 3 APIs that Effect 4 removed or renamed (the Effect 4 name in the comment). */
const effect3Only: ReadonlyArray<RegExp> = [
  /\bContext\.Tag\(/, // Context.Service
  /\bEffect\.Service\b/, // Context.Service with make
  /\bLayer\.(scoped|unwrapEffect|unwrapScoped)\b/, // Layer.effect, Layer.unwrap
  /\bEffect\.(catchAll|catchAllCause|either|zipRight|fork|forkDaemon|timeoutFail|dieMessage|async)\b/,
  /\bEither\./, // Result
  /\bConfig\.(string|redacted|integer|number|boolean|duration)\(/, // Config.String, Config.Redacted...
  /\bConfigError\./, // Config.ConfigError
  /\bSchema\.(DurationFromSelf|DateTimeUtcFromSelf|parseJson|transformOrFail)\b/,
  /\bDuration\.(DurationInput|decode)\b/, // Duration.Input, Duration.fromInputUnsafe
  /\bSchedule\.(intersect|stop|makeWithState)\b/,
  /\bOption\.fromNullable\b/, // Option.fromNullishOr
  /\bLogger\.replace\b/, // Logger.layer
  /\bHttpServerResponse\.unsafe/, // jsonUnsafe, setCookieUnsafe
  /@effect\/(platform|cli|experimental)\b(?!-)/ // effect/http, effect/cli, effect/persistence
]

describe("JSDoc examples", () => {
  it("there are examples to check", () => {
    expect(examples.length).toBeGreaterThanOrEqual(10)
  })

  for (const [index, example] of examples.entries()) {
    it(`${example.file} #${index} parses`, () => {
      // Fragments use `yield*` at top level: wrap them in a generator so that they are valid statements.
      const code = /\byield\*/.test(example.code) && !/function\*/.test(example.code)
        ? `function* __example() {\n${example.code}\n}`
        : example.code
      const output = ts.transpileModule(code, {
        reportDiagnostics: true,
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 }
      })
      const errors = (output.diagnostics ?? []).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"))
      expect(errors, code).toEqual([])
    })

    it(`${example.file} #${index} uses Effect 4's API`, () => {
      expect(effect3Only.filter((pattern) => pattern.test(example.code)).map(String), example.code).toEqual([])
    })
  }
})
