// `npm run bench [-- --quick] [-- --only=local,aws,lambda]`: runs the benchmarks, prints a table against the
// targets of BENCHMARKS.md, and writes bench/results/latest.json (plus a dated copy). Not part of `npm test`.
import { mkdirSync, writeFileSync } from "node:fs";
import { machineInfo } from "./machine.ts";
import { join } from "node:path";
import { runAwsCostBench, workloadTargetUsd } from "./aws-cost.ts";
import { INIT_RATIO_TARGET, runColdStartBench, type ColdStartResult } from "./cold-start.ts";
import { runLocalBench } from "./local-bench.ts";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const onlyArg = args.find((a) => a.startsWith("--only="))?.slice("--only=".length);
const only = new Set((onlyArg ?? "local,aws,lambda").split(","));
const log = (line: string): void => console.error(`  ${line}`);

interface Target {
  name: string;
  value: number | undefined;
  target: string;
  met: (v: number) => boolean;
  unit: string;
}

const started = Date.now();
const results: Record<string, unknown> = {
  date: new Date().toISOString(),
  mode: quick ? "quick" : "full",
  machine: machineInfo(),
};

if (only.has("lambda")) {
  console.error("cold start (bundle size, module init)…");
  results.lambda = await runColdStartBench({ quick, log });
}
if (only.has("aws")) {
  console.error("AWS cost per million (emulated AWS)…");
  results.aws = await runAwsCostBench({ quick, log });
}
if (only.has("local")) {
  console.error("local throughput, latency, delay precision…");
  results.local = await runLocalBench({ quick, log });
}
results.duration_s = Math.round((Date.now() - started) / 1000);

const local = results.local as Record<string, number> | undefined;
const aws = results.aws as
  | {
      cost_per_million: Record<string, number>;
      cost_per_million_trickle?: Record<string, number>;
      cost_per_million_provisioned_capacity?: Record<string, number>;
      cost_per_million_via_function_url?: Record<string, number>;
      idle_per_month: number;
    }
  | undefined;
// Issue 16: every workload at a third of QStash's price, at most $3.33 per million (body32k $10, lean $2).
const workloadTarget = (workload: string) => {
  const goal = workloadTargetUsd(workload);
  return goal === undefined ? "(info)" : `≤ ${goal.toFixed(2)}`; // the workflow: priced per step, no target
};
const lambda = results.lambda as Record<string, ColdStartResult> | undefined;
const targets: Target[] = [
  ...(local
    ? [
        { name: "local publish / node:http ceiling", value: local.publish_ratio, target: "≥ 0.60", unit: "" },
        { name: "local e2e / bare relay", value: local.e2e_ratio, target: "≥ 0.50", unit: "" },
        { name: "local e2e batch / bare relay", value: local.e2e_batch_ratio, target: "(info)", unit: "" },
        { name: "local publish p99 @1000 req/s", value: local.publish_p99_ms_at_1000, target: "≤ 10", unit: "ms" },
        { name: "local delay lateness p99", value: local.delay_lateness_p99_ms, target: "≤ 1000", unit: "ms" },
      ].map((t) => ({ ...t, met: metBy(t.target) }))
    : []),
  ...(aws
    ? [
        ...Object.entries(aws.cost_per_million).map(([workload, value]) => ({
          name: `AWS $ per million: ${workload}`,
          value,
          target: workloadTarget(workload),
          unit: "$",
        })),
        ...Object.entries(aws.cost_per_million_trickle ?? {}).map(([workload, value]) => ({
          name: `AWS $ per million: ${workload} at a trickle`,
          value,
          target: workloadTarget(workload),
          unit: "$",
        })),
        // A model of the tableCapacity opt-in (DynamoDB units at provisioned prices, 70 % use), not a target.
        ...Object.entries(aws.cost_per_million_provisioned_capacity ?? {}).map(([workload, value]) => ({
          name: `AWS $ per million: ${workload}, table on provisioned capacity`,
          value,
          target: "(info)",
          unit: "$",
        })),
        // A model of producers on the Function URL (rawPathEndpoint): no API Gateway request, no access log.
        ...Object.entries(aws.cost_per_million_via_function_url ?? {}).map(([workload, value]) => ({
          name: `AWS $ per million: ${workload}, producers on the Function URL`,
          value,
          target: "(info)",
          unit: "$",
        })),
        { name: "AWS idle per month (with dashboard)", value: aws.idle_per_month, target: "≤ 5.00", unit: "$" },
      ].map((t) => ({ ...t, met: metBy(t.target) }))
    : []),
  ...(lambda
    ? Object.entries(lambda).flatMap(([name, figures]) => [
        {
          name: `Lambda ${name} bundle`,
          value: figures.bundle_bytes / 1000,
          target: "≤ 250",
          unit: "KB",
          met: metBy("≤ 250"),
        },
        // The target is the ratio to a bare bundle of the same AWS SDK clients, measured in the same run:
        // milliseconds differ several times between machines.
        {
          name: `Lambda ${name} init / SDK clients alone`,
          value: figures.init_ratio,
          target: `≤ ${INIT_RATIO_TARGET.toFixed(2)}`,
          unit: "",
          met: metBy(`≤ ${INIT_RATIO_TARGET.toFixed(2)}`),
        },
        {
          name: `Lambda ${name} init CPU / SDK clients alone`,
          value: figures.init_cpu_ratio,
          target: "(info)",
          unit: "",
          met: metBy("(info)"),
        },
        { name: `Lambda ${name} init`, value: figures.init_ms, target: "(info)", unit: "ms", met: metBy("(info)") },
        {
          name: `Lambda ${name} SDK clients alone init`,
          value: figures.baseline_init_ms,
          target: "(info)",
          unit: "ms",
          met: metBy("(info)"),
        },
      ])
    : []),
];

function metBy(target: string): (v: number) => boolean {
  const m = /^(≤|≥) ([\d.]+)$/.exec(target);
  if (!m) return () => true;
  const bound = Number(m[2]);
  return m[1] === "≤" ? (v) => v <= bound : (v) => v >= bound;
}

const rows = targets.map((t) => {
  const value =
    t.value === undefined || Number.isNaN(t.value) ? "n/a" : `${round(t.value)}${t.unit ? ` ${t.unit}` : ""}`;
  const verdict = t.target.startsWith("(") ? "" : t.value !== undefined && t.met(t.value) ? "met" : "MISSED";
  return [t.name, value, t.target, verdict];
});
const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => (r[i] as string).length), 6));
console.log(`\nHerald benchmarks (${quick ? "quick" : "full"}, ${results.duration_s} s)`);
for (const row of rows) console.log(row.map((cell, i) => cell.padEnd(widths[i] as number)).join("  "));

function round(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toFixed(3);
}

const dir = join(import.meta.dirname, "results");
mkdirSync(dir, { recursive: true });
const text = `${JSON.stringify(results, null, 2)}\n`;
writeFileSync(join(dir, "latest.json"), text);
writeFileSync(join(dir, `${(results.date as string).slice(0, 10)}-${quick ? "quick" : "full"}.json`), text);
console.log(`\nwritten: bench/results/latest.json`);
