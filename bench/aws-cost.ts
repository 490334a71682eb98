// AWS cost per million messages (GitHub issue 5): runs Herald's workloads through emulated AWS in process
// (the real Lambda handlers and AWS adapters on DynamoDB Local and fauxqs, see emulation/emulated-aws-server.ts),
// counts every billable request, capacity unit, invocation and log byte, and prices them with
// bench/prices-us-east-1.ts. Also derives the idle cost per month from the synthesized stack.
//
//   npx node bench/aws-cost.ts [--quick]      prints a table, then the result as JSON
//
// HERALD_BENCH_SINK_DELAY_MS=50-250 (or =100) gives the destination a latency: each request is answered after
// a uniform random 50–250 ms (default: at once).
//
// Every workload runs twice: deliveries in full batches of ten (steady load), then one message per batch (a
// trickle). Each result itemizes its bill per service and operation (`cost_lines`; bench/cost-table.ts
// renders them). What is measured and what is assumed is listed in the result's `notes`. The parts are in bench/aws-cost/:
// sdk-counting.ts (AWS requests), log-capture.ts (log bytes, EMF), aws-latency.ts, sink.ts (the
// destination), stack.ts (the synth), idle.ts, item-size.ts (stored bytes), pricing.ts, harness.ts (emulated
// AWS wired for counting), workloads.ts, runner.ts, table.ts (output).
import { pathToFileURL } from "node:url";
import { runAwsCostBench } from "./aws-cost/runner.ts";
import { table } from "./aws-cost/table.ts";

export { runAwsCostBench } from "./aws-cost/runner.ts";
export * from "./aws-cost/result.ts";

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await runAwsCostBench({ quick: process.argv.includes("--quick") });
  console.log(table(result));
  console.log("");
  console.log(JSON.stringify(result, null, 2));
}
