import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), "utf8")

describe("docs", () => {
  for (const doc of ["docs/testing.md", "README.md"]) {
    it(`${doc} shows test/docs-testing-example.test.ts word for word`, () => {
      const block = /```ts\n(import \{ describe, expect, it \} from "@effect\/vitest"[\s\S]*?)```/.exec(read(doc))
      const test = read("test/docs-testing-example.test.ts")
      expect(test.slice(test.indexOf("\n") + 1)).toBe(block?.[1])
    })
  }

  it("docs/web-login.md shows test/docs-web-login-example.ts (type-checked by tsc) word for word", () => {
    const block = /```ts\n(import \{ HttpApi, HttpApiBuilder[\s\S]*?)```/.exec(read("docs/web-login.md"))
    const example = read("test/docs-web-login-example.ts")
    expect(block?.[1]).toBe(example.slice(example.indexOf("\n") + 1))
  })

  it("every local link in the README and docs points at a file that exists", () => {
    for (
      const doc of [
        "README.md",
        "BENCHMARKS.md",
        "docs/admission.md",
        "docs/api.md",
        "docs/cli.md",
        "docs/configuration.md",
        "docs/development.md",
        "docs/effect4.md",
        "docs/errors-and-retries.md",
        "docs/testing.md",
        "docs/upgrading.md",
        "docs/web-login.md",
        "examples/README.md"
      ]
    ) {
      const base = new URL(`../${doc}`, import.meta.url)
      for (const [, target] of read(doc).matchAll(/\]\(((?!https?:)[^)#]+)\)/g)) {
        expect(() => readFileSync(new URL(target!, base)), `${doc} -> ${target}`).not.toThrow(/ENOENT/)
      }
    }
  })
})
