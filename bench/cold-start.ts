// Cold start of the Herald Lambdas (issue 5): each handler bundled exactly as the stack bundles it
// (lib/bundling.ts), its minified size, and its module initialization time — `await import(bundle)` in a
// fresh Node.js process, median of many. Externals (the runtime's AWS SDK) resolve from this repository's
// node_modules and their load time counts, as it does on Lambda.
//
// Work a handler leaves for its first invocation is measured too: in the same process, the first call of
// the handler with a small event (api: an authenticated GET of an unknown message; deliver: a job for an
// unknown message), against a stand-in for DynamoDB and Secrets Manager on localhost that answers at once.
// That call includes whatever the handler loads lazily, building its clients, credentials from the
// environment and signing; not network time.
//
//   npx node bench/cold-start.ts [--quick]
import { execFile } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, rm, stat, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";
import { esbuildOptions, HERALD_BUNDLING } from "../lib/bundling.ts";
import { METRICS_NAMESPACE, METRICS_SERVICE } from "../lambdas/handlers/metrics-catalogue.ts";

export interface ColdStartResult {
  bundle_bytes: number;
  /** Median time of `await import(bundle)` in a fresh process, ms. */
  init_ms: number;
  init_p90_ms?: number;
  /** Median time of the first invocation in that process (see above), ms. */
  first_call_ms?: number;
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
  AWS_ACCESS_KEY_ID: "ASIABENCHBENCHBENCH0",
  AWS_SECRET_ACCESS_KEY: "bench/bench/bench/bench/bench/bench/benc",
  AWS_SESSION_TOKEN: "bench",
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
  HERALD_DESTINATION_POLICY: "public",
  POWERTOOLS_SERVICE_NAME: METRICS_SERVICE,
  POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
  POWERTOOLS_LOG_LEVEL: "INFO",
};

const API_TOKEN = "hrld_bench";

/** The first invocation of each Lambda, and how to tell that it went where it should (no error path). */
const FIRST_CALLS: Record<keyof typeof LAMBDAS, { event: unknown; expect: (result: unknown) => boolean }> = {
  api: {
    event: {
      version: "2.0",
      routeKey: "$default",
      rawPath: "/v2/messages/msg_bench",
      rawQueryString: "",
      headers: { authorization: `Bearer ${API_TOKEN}` },
      isBase64Encoded: false,
      requestContext: { http: { method: "GET", path: "/v2/messages/msg_bench", sourceIp: "127.0.0.1" } },
    },
    expect: (result) => (result as { statusCode?: number }).statusCode === 404,
  },
  deliver: {
    event: {
      Records: [
        {
          messageId: "job-1",
          body: JSON.stringify({ m: "msg_bench", r: 0, d: 0 }),
          attributes: {},
          eventSource: "aws:sqs",
        },
      ],
    },
    expect: (result) => (result as { batchItemFailures?: unknown[] }).batchItemFailures?.length === 0,
  },
};

const LAMBDA_CONTEXT = {
  functionName: "herald-bench",
  functionVersion: "$LATEST",
  invokedFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:herald-bench",
  memoryLimitInMB: "512",
  awsRequestId: "00000000-0000-0000-0000-000000000000",
  logGroupName: "/aws/lambda/herald-bench",
  logStreamName: "bench",
};

/**
 * Runs in each fresh process: the time to import the bundle (module evaluation included), then the time
 * of the handler's first invocation. The handler may log to stdout: the figures come on a marked line.
 */
const DRIVER = `
const [url, event] = process.argv.slice(1);
const start = performance.now();
const mod = await import(url);
const init = performance.now() - start;
const handler = mod.handler ?? mod.default?.handler;
const context = { ...${JSON.stringify(LAMBDA_CONTEXT)}, getRemainingTimeInMillis: () => 30000 };
const callStart = performance.now();
const result = await handler(JSON.parse(event), context);
const firstCall = performance.now() - callStart;
process.stdout.write("\\nHERALD_BENCH " + JSON.stringify({ init, firstCall, result }) + "\\n");
process.exit(0);
`;

/** Answers the first calls' AWS requests at once: an empty DynamoDB query, the Secrets Manager secret. */
function startFakeAws(): Promise<Server> {
  const secret = {
    token: API_TOKEN,
    readOnlyToken: "bench-read-only-token",
    currentSigningKey: "sig_benchcurrent",
    nextSigningKey: "sig_benchnext",
  };
  const answers: Record<string, unknown> = {
    "DynamoDB_20120810.Query": { Items: [], Count: 0, ScannedCount: 0 },
    "secretsmanager.GetSecretValue": {
      ARN: LAMBDA_ENV.HERALD_SECRET_ARN,
      Name: "herald-keys",
      SecretString: JSON.stringify(secret),
    },
  };
  const server = createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      const target = String(request.headers["x-amz-target"] ?? "");
      const answer = answers[target];
      response.writeHead(answer ? 200 : 400, { "content-type": "application/x-amz-json-1.0" });
      response.end(
        JSON.stringify(answer ?? { __type: "BenchUnexpectedRequest", message: `bench: no answer for ${target}` }),
      );
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

/** Bundles one handler as the stack does; returns the bundle's path and size. */
async function bundle(handlerFile: string, outdir: string): Promise<{ file: string; bytes: number }> {
  const entry = join(ROOT, "lambdas", "handlers", handlerFile);
  const options = esbuildOptions(HERALD_BUNDLING, entry, outdir);
  // NodejsFunction runs esbuild from the project root.
  await build({ ...options, absWorkingDir: ROOT, logLevel: "warning" });
  const file = options.outfile as string;
  return { file, bytes: (await stat(file)).size };
}

interface Run {
  init: number;
  firstCall: number;
}

function runOnce(name: keyof typeof LAMBDAS, file: string, endpoint: string): Promise<Run> {
  const { event, expect } = FIRST_CALLS[name];
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ["--input-type=module", "--eval", DRIVER, pathToFileURL(file).href, JSON.stringify(event)],
      // The SDK sends every service to AWS_ENDPOINT_URL: the stand-in. Nothing else differs from Lambda.
      { env: { PATH: process.env.PATH ?? "", ...LAMBDA_ENV, AWS_ENDPOINT_URL: endpoint }, timeout: 30_000 },
      (error, stdout, stderr) => {
        const line = stdout.split("\n").find((l) => l.startsWith("HERALD_BENCH "));
        const run = line ? (JSON.parse(line.slice("HERALD_BENCH ".length)) as Run & { result: unknown }) : undefined;
        if (error || !run) reject(new Error(`running ${file} failed: ${error?.message ?? ""}\n${stdout}\n${stderr}`));
        else if (!expect(run.result))
          reject(new Error(`${name}'s first call went wrong: ${JSON.stringify(run.result)}\n${stdout}`));
        else resolve({ init: run.init, firstCall: run.firstCall });
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
  const count = options.quick ? 7 : 20;
  const major = Number(process.versions.node.split(".")[0]);
  if (major < 24) throw new Error(`the Lambdas run Node.js 24; this is ${process.version} (run via npx node)`);
  // The bundles live outside the repository, next to a link to its node_modules: the externals resolve
  // from there, as they resolve from the runtime's own node_modules on Lambda.
  const work = await mkdtemp(join(tmpdir(), "herald-cold-start-"));
  const fakeAws = await startFakeAws();
  const endpoint = `http://127.0.0.1:${(fakeAws.address() as AddressInfo).port}`;
  try {
    await symlink(join(ROOT, "node_modules"), join(work, "node_modules"), "dir");
    const results: Record<string, ColdStartResult> = {};
    for (const [name, handlerFile] of Object.entries(LAMBDAS) as [keyof typeof LAMBDAS, string][]) {
      const { file, bytes } = await bundle(handlerFile, join(work, name));
      await runOnce(name, file, endpoint); // warm-up (file system cache), not counted
      const samples: Run[] = [];
      for (let i = 0; i < count; i++) samples.push(await runOnce(name, file, endpoint));
      const init = samples.map((r) => r.init).sort((a, b) => a - b);
      const firstCall = samples.map((r) => r.firstCall).sort((a, b) => a - b);
      results[name] = {
        bundle_bytes: bytes,
        init_ms: round(median(init)),
        init_p90_ms: round(quantile(init, 0.9)),
        first_call_ms: round(median(firstCall)),
      };
      log(
        `${name}: bundle ${bytes} bytes; import median ${round(median(init))} ms, p90 ${round(quantile(init, 0.9))} ms; ` +
          `first call median ${round(median(firstCall))} ms, p90 ${round(quantile(firstCall, 0.9))} ms ` +
          `(${count} fresh processes, Node.js ${process.version}; imports ${samples.map((r) => Math.round(r.init)).join(" ")})`,
      );
    }
    return results;
  } finally {
    fakeAws.close();
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
