// Fault injection on emulated AWS (issue "Herald on real AWS"): a mixed load runs through `npm run
// start:aws-local`'s stack while a share of the Lambdas' AWS calls fail as AWS calls fail — throttling
// (ThrottlingException, DynamoDB's ProvisionedThroughputExceededException), 500 and 503 answers, and
// timeouts after the request was carried out — on DynamoDB, SQS and S3 (at the SDK boundary, inside the
// SDK's own retries, as a real failure would be), and on the Scheduler and Secrets Manager stand-ins.
// Every message that got a 2xx must be delivered; duplicates are counted; nothing may be left stuck.
//
//   npm run faults                      # 2,000+ messages, 5% of calls faulted
//   npm run faults -- --rate=0.1 --scale=0.5 --settle=120   (seconds to wait for the backlog)
//
// Results: bench/results/faults-latest.json; RELIABILITY.md quotes them. Not part of `npm test` (a small
// run of the same code is: test/e2e/fault-injection.e2e.test.ts).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { runFaultInjection } from "./faults/run.ts";
import { machineInfo } from "./machine.ts";

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const raw = args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const value = raw === undefined ? fallback : Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} must be a non-negative number`);
  return value;
};
const rate = option("rate", 0.05);
const scale = option("scale", 1);
const seed = option("seed", 1);
const settleMs = option("settle", 300) * 1000;

const result = await runFaultInjection({ rate, scale, seed, settleMs, log: (line) => console.log(line) });
const file = join("bench/results", "faults-latest.json");
writeFileSync(
  file,
  `${JSON.stringify({ machine: machineInfo(), date: new Date().toISOString(), ...result }, null, 2)}\n`,
);
console.log(`\nwritten: ${file}`);
process.exit(result.ok ? 0 : 1);
