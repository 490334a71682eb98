import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    // Set-up starts servers, emulated AWS among them (a stack synthesis and a JVM): slower while another file runs.
    hookTimeout: 60_000,
    // One file at a time. Two at a time take 11 minutes instead of 13 on two cores, but timing checks of
    // emulated AWS then fail now and then (RELIABILITY.md, "Known limits": crash-aws-sweep, a 2 s delay).
    maxWorkers: 1,
  },
});
