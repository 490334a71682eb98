// Where each cent goes: renders the AWS cost bench's per-operation cost lines (`cost_lines` of each workload)
// from a results file as markdown tables, one per workload.
//
//   npx node bench/cost-table.ts <results.json>                one file: steady and trickle side by side
//   npx node bench/cost-table.ts <before.json> <after.json>    two files: before and after (steady load)
//   npx node bench/cost-table.ts [--trickle] <before> <after>  the same for the trickle pass
//   --workloads=single,workflow                                only these workloads' tables, in this order
//
// A results file is what `npm run bench` writes (bench/results/*.json, the figures under "aws") or the JSON
// that `npx node bench/aws-cost.ts` prints.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import type { AwsCostResult, CostLine, WorkloadResult } from "./aws-cost/result.ts";

const GIB = 1024 ** 3;

/** The AWS part of a results file (either shape); workloads of runs before cost lines have none. */
export function readAws(path: string): Partial<AwsCostResult> & Pick<AwsCostResult, "workloads"> {
  const json = JSON.parse(readFileSync(path, "utf8")) as { aws?: AwsCostResult } & Partial<AwsCostResult>;
  const aws = json.aws ?? json;
  if (!aws.workloads) throw new Error(`${path}: no AWS workloads in this file`);
  return aws as Partial<AwsCostResult> & Pick<AwsCostResult, "workloads">;
}

function significant(n: number): string {
  if (n === 0) return "0";
  if (Math.abs(n) >= 100) return n.toFixed(0);
  if (Math.abs(n) >= 1) return n.toFixed(2);
  return Number(n.toPrecision(3)).toString();
}

function unitPrice(line: CostLine): string {
  // "API call (not billed)", "API call (priced per warm container)": the words in brackets.
  if (line.unit_usd === 0) return /\((.+)\)/.exec(line.unit)?.[1] ?? "not billed";
  if (line.unit.startsWith("byte")) return `$${(line.unit_usd * GIB).toPrecision(3)}/GB${line.unit.slice(4)}`;
  if (line.unit_usd < 1e-4) return `$${(line.unit_usd * 1e6).toPrecision(3)}/M ${line.unit}`;
  return `$${line.unit_usd}/${line.unit}`;
}

function perMessage(line: CostLine | undefined): string {
  if (!line) return "";
  const quantity = significant(line.per_message);
  const requests = line.requests_per_message === undefined ? quantity : significant(line.requests_per_message);
  return requests === quantity ? quantity : `${quantity} (${requests} req)`;
}

const usd = (n: number | undefined): string => (n === undefined ? "" : `$${n.toFixed(3)}`);
const key = (line: CostLine): string => `${line.line}|${line.unit}`;
const escape = (text: string): string => text.replaceAll("|", "\\|");

/** One markdown table: a row per cost line (in the first column's order), then the totals. */
function render(title: string, columns: { name: string; w: WorkloadResult | undefined }[]): string {
  const lines = new Map<string, CostLine>();
  for (const { w } of columns)
    for (const line of w?.cost_lines ?? []) if (!lines.has(key(line))) lines.set(key(line), line);
  const header = ["Line", "Unit price"];
  for (const c of columns) header.push(`Per message${c.name}`, `$/M${c.name}`);
  if (columns.length === 2) header.push(columns[1]?.name === " after" ? "Change" : "Trickle − steady");
  const rows: string[][] = [];
  for (const [k, line] of lines) {
    // A line whose price differs between the columns (an SQS send to the FIFO queue instead of the
    // standard one) shows each price, in column order.
    const prices = [
      ...new Set(
        columns.map(({ w }) => w?.cost_lines?.find((l) => key(l) === k)).flatMap((l) => (l ? [unitPrice(l)] : [])),
      ),
    ];
    const cells = [escape(line.line), escape(prices.join(" → "))];
    const values: (number | undefined)[] = [];
    for (const { w } of columns) {
      const own = w?.cost_lines?.find((l) => key(l) === k);
      values.push(w?.cost_lines ? (own?.usd_per_million ?? 0) : undefined);
      cells.push(perMessage(own), usd(values.at(-1)));
    }
    if (columns.length === 2) {
      const [a, b] = values;
      cells.push(a === undefined || b === undefined ? "" : `${b - a >= 0 ? "+" : ""}${(b - a).toFixed(3)}`);
    }
    rows.push(cells);
  }
  const total = ["**Total**", ""];
  const atAws = ["Total at AWS latency", ""];
  for (const { w } of columns) {
    total.push(w ? `${w.messages ?? w.delivered} messages` : "", w ? `**${usd(w.per_million.total)}**` : "");
    atAws.push("", w ? usd(w.per_million.total_at_aws_latency) : "");
  }
  if (columns.length === 2) {
    const [a, b] = columns.map((c) => c.w?.per_million);
    total.push(a && b ? `${b.total - a.total >= 0 ? "+" : ""}${(b.total - a.total).toFixed(3)}` : "");
    atAws.push(
      a && b
        ? `${b.total_at_aws_latency - a.total_at_aws_latency >= 0 ? "+" : ""}${(b.total_at_aws_latency - a.total_at_aws_latency).toFixed(3)}`
        : "",
    );
  }
  rows.push(total, atAws);
  const out = [`#### ${title}`, "", `| ${header.join(" | ")} |`, `| ${header.map(() => "---").join(" | ")} |`];
  for (const row of rows) out.push(`| ${row.join(" | ")} |`);
  return out.join("\n");
}

export function costTables(files: string[], trickle: boolean, only?: string[]): string {
  const results = files.map(readAws);
  const all = [...new Set(results.flatMap((r) => Object.keys(r.workloads)))];
  const names = only ? only.filter((name) => all.includes(name)) : all;
  const tables: string[] = [];
  for (const name of names) {
    const pick = (r: (typeof results)[number], pass: "steady" | "trickle") =>
      (pass === "trickle" ? r.workloads_trickle : r.workloads)?.[name as keyof AwsCostResult["workloads"]];
    const first = results[0] as (typeof results)[number];
    const description = (pick(first, "steady") ?? pick(results.at(-1) ?? first, "steady"))?.description ?? "";
    if (results.length === 1) {
      tables.push(
        render(`${name}: ${description}`, [
          { name: " (steady)", w: pick(first, "steady") },
          { name: " (trickle)", w: pick(first, "trickle") },
        ]),
      );
    } else {
      const pass = trickle ? "trickle" : "steady";
      tables.push(
        render(
          `${name}${trickle ? " (trickle)" : ""}: ${description}`,
          results.slice(0, 2).map((r, i) => ({ name: i === 0 ? " before" : " after", w: pick(r, pass) })),
        ),
      );
    }
  }
  return tables.join("\n\n");
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const files = args.filter((a) => !a.startsWith("--"));
  if (files.length < 1 || files.length > 2) {
    console.error("usage: npx node bench/cost-table.ts [--trickle] [--workloads=a,b] <results.json> [<after.json>]");
    process.exit(2);
  }
  const only = args.find((a) => a.startsWith("--workloads="))?.slice("--workloads=".length);
  console.log(costTables(files, args.includes("--trickle"), only?.split(",")));
}
