// Cold start of the Herald Lambdas (issue 5): each handler bundled exactly as the stack bundles it
// (lib/bundling.ts), its minified size, and its module initialization time — `await import(bundle)` in a
// fresh Node.js process, median of many. Externals (the runtime's AWS SDK) resolve from this repository's
// node_modules and their load time counts, as it does on Lambda.
//
// Absolute milliseconds differ several times between machines, so the target is a ratio: each Lambda's
// median import time against that of a baseline bundle that only imports and constructs the AWS SDK clients
// the Lambda's context constructs (cold-start/baseline-clients.ts), bundled with the same settings and
// measured in the same run, processes alternating between the two so that drift of the machine hits both.
//
// Work a handler leaves for its first invocation is measured too: in the same process, the first call of
// the handler with a small event (cold-start/first-calls.ts), against a stand-in for DynamoDB and Secrets
// Manager on localhost that answers at once. That call includes whatever the handler loads lazily, building
// its clients, credentials from the environment and signing; not network time.
//
//   npx node bench/cold-start.ts [--quick]
import { mkdtemp, rm, symlink } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundle, ROOT } from "./cold-start/bundle.ts";
import { startFakeAws } from "./cold-start/fake-aws.ts";
import { FIRST_CALLS } from "./cold-start/first-calls.ts";
import { freshProcess, type Sample } from "./cold-start/fresh-process.ts";
import { median, quantile, round, roundRatio, sorted } from "./cold-start/stats.ts";

export interface ColdStartResult {
  bundle_bytes: number;
  /** Median time of `await import(bundle)` in a fresh process, ms (information: it depends on the machine). */
  init_ms: number;
  init_p90_ms?: number;
  /** Median time of the first invocation in that process (see above), ms. */
  first_call_ms?: number;
  /** The baseline bundle (cold-start/baseline-clients.ts) built for this Lambda: its size and median import. */
  baseline_bytes?: number;
  baseline_init_ms?: number;
  /** Of the baseline's import, the median time its client constructors took, ms. */
  baseline_construct_ms?: number;
  /** init_ms / baseline_init_ms: the target (at most INIT_RATIO_TARGET). */
  init_ratio?: number;
  /**
   * Information: init_ms against the baseline's import without its constructors (the median of import minus
   * construction), since Herald constructs its clients at the first invocation rather than at import.
   */
  init_ratio_to_sdk_load?: number;
  /** Information: the median of each pair's own ratio (its two processes ran one after the other). */
  init_ratio_paired?: number;
  /**
   * Information: the same ratio on the main thread's CPU time during the imports (medians), which time
   * waiting for a core does not inflate: the steadier figure on a loaded machine.
   */
  init_cpu_ms?: number;
  baseline_init_cpu_ms?: number;
  init_cpu_ratio?: number;
}

/** Lambda name -> handler file under lambdas/handlers/ (lib/api.ts, lib/delivery.ts). */
export const LAMBDAS = { api: "api.ts", deliver: "deliver.ts" } as const;

/**
 * Lambda name -> its baseline entry. Both Lambdas build the same context (awsContext() in
 * lambdas/handlers/aws-context.ts), hence the same clients: one entry, bundled once per Lambda.
 */
const BASELINES: Record<keyof typeof LAMBDAS, string> = {
  api: "bench/cold-start/baseline-clients.ts",
  deliver: "bench/cold-start/baseline-clients.ts",
};

/** The most a Lambda's median import may take against its baseline's, in the same run. */
export const INIT_RATIO_TARGET = 1.3;

export async function runColdStartBench(options: {
  quick: boolean;
  log?: (line: string) => void;
}): Promise<Record<string, ColdStartResult>> {
  const log = options.log ?? (() => undefined);
  const count = options.quick ? 11 : 25;
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
      const herald = await bundle(join(ROOT, "lambdas", "handlers", handlerFile), join(work, name));
      const baseline = await bundle(join(ROOT, BASELINES[name]), join(work, `${name}-baseline`));
      const runHerald = (): Promise<Sample> => freshProcess(herald.file, endpoint, FIRST_CALLS[name]);
      const runBaseline = (): Promise<Sample> => freshProcess(baseline.file, endpoint);
      // Warm-ups (file system cache), not counted.
      await runBaseline();
      await runHerald();
      const heraldSamples: Sample[] = [];
      const baselineSamples: Sample[] = [];
      // Alternating, and which goes first alternates too: drift and any effect of order hit both alike.
      for (let i = 0; i < count; i++) {
        if (i % 2 === 0) {
          baselineSamples.push(await runBaseline());
          heraldSamples.push(await runHerald());
        } else {
          heraldSamples.push(await runHerald());
          baselineSamples.push(await runBaseline());
        }
      }
      const init = sorted(heraldSamples.map((s) => s.init));
      const firstCall = sorted(heraldSamples.map((s) => s.firstCall ?? NaN));
      const baselineInit = sorted(baselineSamples.map((s) => s.init));
      const initCpu = median(sorted(heraldSamples.map((s) => s.initCpu)));
      const baselineInitCpu = median(sorted(baselineSamples.map((s) => s.initCpu)));
      const construct = sorted(baselineSamples.map((s) => s.constructMs ?? NaN));
      const sdkLoad = sorted(baselineSamples.map((s) => s.init - (s.constructMs ?? NaN)));
      // Each pair's own ratio: a check on the ratio of the medians, less sensitive to drift.
      const paired = sorted(heraldSamples.map((s, i) => s.init / (baselineSamples[i] as Sample).init));
      const ratio = median(init) / median(baselineInit);
      results[name] = {
        bundle_bytes: herald.bytes,
        init_ms: round(median(init)),
        init_p90_ms: round(quantile(init, 0.9)),
        first_call_ms: round(median(firstCall)),
        baseline_bytes: baseline.bytes,
        baseline_init_ms: round(median(baselineInit)),
        baseline_construct_ms: round(median(construct)),
        init_ratio: roundRatio(ratio),
        init_ratio_to_sdk_load: roundRatio(median(init) / median(sdkLoad)),
        init_ratio_paired: roundRatio(median(paired)),
        init_cpu_ms: round(initCpu),
        baseline_init_cpu_ms: round(baselineInitCpu),
        init_cpu_ratio: roundRatio(initCpu / baselineInitCpu),
      };
      log(
        `${name}: bundle ${herald.bytes} bytes; import median ${round(median(init))} ms, ` +
          `p90 ${round(quantile(init, 0.9))} ms; first call median ${round(median(firstCall))} ms, ` +
          `p90 ${round(quantile(firstCall, 0.9))} ms (imports ${heraldSamples.map((s) => Math.round(s.init)).join(" ")})`,
      );
      log(
        `${name} baseline: bundle ${baseline.bytes} bytes; import median ${round(median(baselineInit))} ms, ` +
          `of which constructing the clients ${round(median(construct))} ms ` +
          `(imports ${baselineSamples.map((s) => Math.round(s.init)).join(" ")})`,
      );
      log(
        `${name}: init ratio ${roundRatio(ratio)} (target ≤ ${INIT_RATIO_TARGET}; median of the pairs' ratios ` +
          `${roundRatio(median(paired))}; against the baseline's imports without its constructors ` +
          `${roundRatio(median(init) / median(sdkLoad))}; main-thread CPU ${round(initCpu)} / ${round(baselineInitCpu)} ms, ` +
          `${roundRatio(initCpu / baselineInitCpu)}), ${count} pairs of fresh processes, Node.js ${process.version}`,
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
