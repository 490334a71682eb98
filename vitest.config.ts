import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // One DynamoDB Local for the run, a database in it per emulated Herald (shared-dynamodb-local.ts).
    globalSetup: ["test/support/shared-dynamodb-local.ts"],
    testTimeout: 30_000,
    // Set-up starts servers, emulated AWS among them (a stack synthesis, fauxqs, tables): slower while another file runs.
    hookTimeout: 60_000,
    // One file at a time. Two at a time took 11 minutes instead of 13 on two cores (each emulated Herald
    // still started its own JVM then), but timing checks of emulated AWS failed now and then
    // (RELIABILITY.md, "Known limits": crash-aws-sweep, a 2 s delay).
    maxWorkers: 1,
  },
});
