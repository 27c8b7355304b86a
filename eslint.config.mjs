import * as effectEslint from "@effect/eslint-plugin"
import eslint from "@eslint/js"
import tseslint from "typescript-eslint"

export default tseslint.config(
  {
    ignores: [
      "dist/**",
      "docs/**",
      "coverage/**",
      ".tmp/**",
      "node_modules/**",
      "effect4/dist/**",
      "effect4/node_modules/**",
      "effect4/core/**",
      ".ci/.node/**"
    ]
  },
  eslint.configs.recommended,
  tseslint.configs.recommended,
  ...effectEslint.configs.dprint,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      // Effect's style, as in the Effect-TS/effect repository.
      "@effect/dprint": [
        "error",
        {
          config: {
            indentWidth: 2,
            lineWidth: 120,
            semiColons: "asi",
            quoteStyle: "alwaysDouble",
            trailingCommas: "never",
            operatorPosition: "maintain",
            "arrowFunction.useParentheses": "force"
          }
        }
      ]
    }
  },
  {
    // core/ is plain TypeScript that both lines (Effect 3 at the root, Effect 4 in effect4/) compile in: no Effect,
    // and nothing of either line.
    files: ["core/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", {
        patterns: [
          { group: ["effect", "effect/*", "@effect/*"], message: "core/ is plain TypeScript: no Effect import." },
          { group: ["**/src/*", "**/effect4/*"], message: "core/ is shared by both lines: it imports neither." }
        ]
      }]
    }
  },
  {
    files: ["**/*.mjs"],
    languageOptions: { globals: { process: "readonly", console: "readonly", URL: "readonly" } }
  }
)
