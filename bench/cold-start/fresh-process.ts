// One sample of the cold-start bench: a fresh Node.js process that imports a bundle (module evaluation
// included) and, for a Herald Lambda, invokes its handler once. The handler may log to stdout: the figures
// come on a marked line.
import { execFile } from "node:child_process";
import { pathToFileURL } from "node:url";
import type { FirstCall } from "./first-calls.ts";
import { LAMBDA_CONTEXT, LAMBDA_ENV } from "./lambda-env.ts";

export interface Sample {
  /** `await import(bundle)`, ms. */
  init: number;
  /** The main thread's CPU time (user and system) during that import, ms: less sensitive to other load. */
  initCpu: number;
  /** The first invocation, ms; absent without one. */
  firstCall?: number;
  /** What the bundle reports of the time its constructors took (the baseline's `constructMs`), ms. */
  constructMs?: number;
}

const DRIVER = `
const [url, event] = process.argv.slice(1);
const cpuStart = process.threadCpuUsage();
const start = performance.now();
const mod = await import(url);
const init = performance.now() - start;
const cpu = process.threadCpuUsage(cpuStart);
const initCpu = (cpu.user + cpu.system) / 1000;
const constructMs = mod.constructMs ?? mod.default?.constructMs;
let firstCall, result;
if (event) {
  const handler = mod.handler ?? mod.default?.handler;
  const context = { ...${JSON.stringify(LAMBDA_CONTEXT)}, getRemainingTimeInMillis: () => 30000 };
  const callStart = performance.now();
  result = await handler(JSON.parse(event), context);
  firstCall = performance.now() - callStart;
}
process.stdout.write("\\nHERALD_BENCH " + JSON.stringify({ init, initCpu, firstCall, constructMs, result }) + "\\n");
process.exit(0);
`;

/**
 * Imports `file` in a fresh process with the Lambda environment, then makes `call` if given. `endpoint`:
 * where the SDK sends every service (AWS_ENDPOINT_URL), the stand-in of fake-aws.ts; nothing else differs
 * from Lambda.
 */
export function freshProcess(file: string, endpoint: string, call?: FirstCall): Promise<Sample> {
  const args = ["--input-type=module", "--eval", DRIVER, pathToFileURL(file).href];
  if (call) args.push(JSON.stringify(call.event));
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      args,
      { env: { PATH: process.env.PATH ?? "", ...LAMBDA_ENV, AWS_ENDPOINT_URL: endpoint }, timeout: 30_000 },
      (error, stdout, stderr) => {
        const line = stdout.split("\n").find((l) => l.startsWith("HERALD_BENCH "));
        const run = line
          ? (JSON.parse(line.slice("HERALD_BENCH ".length)) as Sample & { result?: unknown })
          : undefined;
        if (error || !run) reject(new Error(`running ${file} failed: ${error?.message ?? ""}\n${stdout}\n${stderr}`));
        else if (call && !call.expect(run.result))
          reject(new Error(`the first call of ${file} went wrong: ${JSON.stringify(run.result)}\n${stdout}`));
        else resolve({ init: run.init, initCpu: run.initCpu, firstCall: run.firstCall, constructMs: run.constructMs });
      },
    );
  });
}
