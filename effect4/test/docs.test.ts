import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"

// Paths relative to effect4/ (this line's README and tests) or the repository (the shared docs).
const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), "utf8")
const body = (file: string) => read(file).slice(read(file).indexOf("\n") + 1)

describe("docs of the 1.x line", () => {
  it("README.md shows test/docs-testing-example.test.ts word for word", () => {
    const block = /```ts\n(import \{ describe, expect, it \} from "@effect\/vitest"[\s\S]*?)```/.exec(read("README.md"))
    expect(block?.[1]).toBe(body("test/docs-testing-example.test.ts"))
  })

  it("README.md shows test/docs-readme-example.ts (type-checked by tsc) word for word", () => {
    const block = /```ts\n(import \{ NodeRuntime \}[\s\S]*?)```/.exec(read("README.md"))
    expect(block?.[1]).toBe(body("test/docs-readme-example.ts"))
  })

  it("docs/effect4.md shows test/docs-web-login-example.ts (type-checked by tsc) word for word", () => {
    const block =
      /```ts\n(import \{ Effect, Layer, Schema \} from "effect"\nimport \{ AuthService, TmdbClient \}[\s\S]*?)```/.exec(
        read("../docs/effect4.md")
      )
    expect(block?.[1]).toBe(body("test/docs-web-login-example.ts"))
  })

  it("every local link in the README, docs/effect4.md and docs/upgrading.md points at a file that exists", () => {
    for (const doc of ["README.md", "../docs/effect4.md", "../docs/upgrading.md"]) {
      const base = new URL(`../${doc}`, import.meta.url)
      const links = Array.from(read(doc).matchAll(/\]\(((?!https?:)[^)#]+)\)/g), (match) => match[1]!)
      expect(links.length, doc).toBeGreaterThan(0)
      for (const target of links) {
        expect(() => readFileSync(new URL(target, base)), `${doc} -> ${target}`).not.toThrow(/ENOENT/)
      }
    }
  })
})
