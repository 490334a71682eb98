import { defineConfig } from "vitest/config";

// Crash and restart tests kill processes and wait on real time limits (visibility timeouts, claims), and
// guess from request timing what a cut lost: they run one at a time, after everything else, which runs
// two files at a time (2 cores). RELIABILITY.md, "Known limits": crash-aws-sweep once stalled with another
// file beside it.
const ALONE = ["test/e2e/crash-*.e2e.test.ts", "test/e2e/restart.e2e.test.ts", "test/e2e/fault-injection.e2e.test.ts"];

const shared = {
  testTimeout: 30_000,
  // Set-up starts servers, emulated AWS among them (a stack synthesis and a JVM): slower while another file runs.
  hookTimeout: 60_000,
};

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          ...shared,
          name: "two at a time",
          include: ["test/**/*.test.ts"],
          exclude: ALONE,
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          ...shared,
          name: "one at a time",
          include: ALONE,
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
