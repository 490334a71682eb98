// Cold start of the Herald Lambdas (issue 5): each handler bundled exactly as the stack bundles it
// (lib/bundling.ts), its minified size, and its module initialization time — `await import(bundle)` in a
// fresh Node.js process, median of many. Externals (the runtime's AWS SDK) resolve from this repository's
// node_modules and their load time counts, as it does on Lambda.
//
//   npx node bench/cold-start.ts [--quick]
import { execFile } from "node:child_process";
import { mkdtemp, rm, stat, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";
import { esbuildOptions, HERALD_BUNDLING } from "../lib/bundling.ts";

export interface ColdStartResult {
  bundle_bytes: number;
  /** Median time of `await import(bundle)` in a fresh process, ms. */
  init_ms: number;
  init_p90_ms?: number;
}

/** Lambda name -> handler file under lambdas/handlers/ (lib/api.ts, lib/delivery.ts). */
export const LAMBDAS = { api: "api.ts", deliver: "deliver.ts" } as const;

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/**
 * The environment of a deployed Herald Lambda (lib/herald.ts and what Lambda itself sets), with dummy
 * values: nothing may need real ones at import time.
 */
const LAMBDA_ENV: Record<string, string> = {
  AWS_REGION: "us-east-1",
  AWS_DEFAULT_REGION: "us-east-1",
  AWS_EXECUTION_ENV: "AWS_Lambda_nodejs24.x",
  AWS_LAMBDA_FUNCTION_NAME: "herald-bench",
  AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE: "512",
  AWS_LAMBDA_LOG_FORMAT: "JSON",
  TZ: ":UTC",
  HERALD_TABLE: "herald-table",
  HERALD_BUCKET: "herald-bodies",
  HERALD_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/123456789012/herald-deliveries",
  HERALD_QUEUE_ARN: "arn:aws:sqs:us-east-1:123456789012:herald-deliveries",
  HERALD_SCHEDULE_GROUP: "herald",
  HERALD_SCHEDULER_ROLE_ARN: "arn:aws:iam::123456789012:role/herald-scheduler",
  HERALD_SCHEDULE_DLQ_ARN: "arn:aws:sqs:us-east-1:123456789012:herald-deliveries-poison",
  HERALD_SECRET_ARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:herald-keys",
  HERALD_RETENTION: "604800s",
  HERALD_MAX_BODY_BYTES: "1048576",
  HERALD_MAX_TIMEOUT: "120s",
  HERALD_BACKOFF_FACTOR: "2",
  HERALD_ALLOW_PRIVATE_DESTINATIONS: "false",
  POWERTOOLS_SERVICE_NAME: "herald",
  POWERTOOLS_METRICS_NAMESPACE: "Herald",
  POWERTOOLS_LOG_LEVEL: "INFO",
};

/** Runs in each fresh process: the time to import the bundle (module evaluation included). */
const DRIVER = [
  "const url = process.argv[1];",
  "const start = performance.now();",
  "await import(url);",
  "process.stdout.write(String(performance.now() - start));",
].join("\n");

/** Bundles one handler as the stack does; returns the bundle's path and size. */
async function bundle(handlerFile: string, outdir: string): Promise<{ file: string; bytes: number }> {
  const entry = join(ROOT, "lambdas", "handlers", handlerFile);
  const options = esbuildOptions(HERALD_BUNDLING, entry, outdir);
  // NodejsFunction runs esbuild from the project root.
  await build({ ...options, absWorkingDir: ROOT, logLevel: "warning" });
  const file = options.outfile as string;
  return { file, bytes: (await stat(file)).size };
}

function importOnce(file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ["--input-type=module", "--eval", DRIVER, pathToFileURL(file).href],
      { env: { PATH: process.env.PATH ?? "", ...LAMBDA_ENV }, timeout: 30_000 },
      (error, stdout, stderr) => {
        const ms = Number(stdout);
        if (error || !Number.isFinite(ms) || stdout === "") {
          reject(new Error(`importing ${file} failed: ${error?.message ?? ""}\n${stderr}`));
        } else resolve(ms);
      },
    );
  });
}

function quantile(sorted: number[], q: number): number {
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index] as number;
}

const round = (ms: number): number => Math.round(ms * 10) / 10;

function median(sorted: number[]): number {
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export async function runColdStartBench(options: {
  quick: boolean;
  log?: (line: string) => void;
}): Promise<Record<string, ColdStartResult>> {
  const log = options.log ?? (() => undefined);
  const runs = options.quick ? 7 : 20;
  const major = Number(process.versions.node.split(".")[0]);
  if (major < 24) throw new Error(`the Lambdas run Node.js 24; this is ${process.version} (run via npx node)`);
  // The bundles live outside the repository, next to a link to its node_modules: the externals resolve
  // from there, as they resolve from the runtime's own node_modules on Lambda.
  const work = await mkdtemp(join(tmpdir(), "herald-cold-start-"));
  try {
    await symlink(join(ROOT, "node_modules"), join(work, "node_modules"), "dir");
    const results: Record<string, ColdStartResult> = {};
    for (const [name, handlerFile] of Object.entries(LAMBDAS)) {
      const { file, bytes } = await bundle(handlerFile, join(work, name));
      await importOnce(file); // warm-up (file system cache), not counted
      const times: number[] = [];
      for (let i = 0; i < runs; i++) times.push(await importOnce(file));
      const sorted = [...times].sort((a, b) => a - b);
      results[name] = {
        bundle_bytes: bytes,
        init_ms: round(median(sorted)),
        init_p90_ms: round(quantile(sorted, 0.9)),
      };
      log(
        `${name}: bundle ${bytes} bytes, import median ${round(median(sorted))} ms, p90 ${round(quantile(sorted, 0.9))} ms ` +
          `(${runs} fresh processes, Node.js ${process.version}; ${times.map((t) => Math.round(t)).join(" ")})`,
      );
    }
    return results;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const results = await runColdStartBench({
    quick: process.argv.includes("--quick"),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
}
