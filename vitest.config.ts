import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    // Set-up starts servers, emulated AWS among them (a stack synthesis and a JVM): slower while another file runs.
    hookTimeout: 60_000,
    // Two files at a time on two cores: most tests wait on servers and sockets, not on the CPU.
    maxWorkers: 2,
  },
});
