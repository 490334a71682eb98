// The official SDK's test suite as `npm run test:sdk` runs it (bin/test-sdk.ts): which files, and how bun's
// output is read.

/** The SDK's test files that talk to a QStash server (or to their own mock of one, on port 8080). */
export const TEST_FILES = [
  "src/receiver.test.ts",
  "src/client/client.test.ts",
  "src/client/messages.test.ts",
  "src/client/schedules.test.ts",
  "src/client/url-groups.test.ts",
  "src/client/queue.test.ts",
  "src/client/dlq.test.ts",
  "src/client/logs.test.ts",
  "src/client/flow-control.test.ts",
];
export interface FileResult {
  passed: number;
  failed: number;
  failures: string[];
}

/** bun prints `path:` before each file's results, then a `(pass)` or `(fail)` line per test, then a summary. */
export function parseBunOutput(output: string): Record<string, FileResult> {
  const files: Record<string, FileResult> = {};
  for (const file of TEST_FILES) files[file] = { passed: 0, failed: 0, failures: [] };
  let current: FileResult | undefined;
  for (const line of output.split("\n")) {
    // bun repeats the failures in its closing summary: stop there.
    if (/^\d+ tests? failed:$/.test(line.trim()) || /^\d+ pass$/.test(line.trim())) break;
    const header = /^(\S+\.test\.ts):$/.exec(line.trim());
    if (header?.[1]) {
      current = files[header[1]];
      continue;
    }
    const result = /^\((pass|fail)\) (.*?)(?: \[[\d.]+m?s\])?$/.exec(line.trim());
    if (!result || !current) continue;
    if (result[1] === "pass") current.passed++;
    else {
      current.failed++;
      current.failures.push(result[2] as string);
    }
  }
  return files;
}
