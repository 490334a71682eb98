import { defineConfig } from "vitest/config";

// The crash tests of emulated AWS kill the Lambdas' process mid-call and guess from the requests it made
// what a cut lost, and wait on real limits (visibility timeouts, claims): they run one at a time, after the
// rest, which runs two files at a time (2 cores). RELIABILITY.md, "Known limits": crash-aws-sweep once
// stalled with another file beside it.
const ALONE = ["test/e2e/crash-aws-*.e2e.test.ts"];

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
