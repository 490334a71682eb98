// The result as a table, for `npx node bench/aws-cost.ts`.
import { TARGETED_WORKLOADS, WORKLOAD_TARGET_USD, WORKLOADS, type AwsCostResult } from "./result.ts";

export function table(result: AwsCostResult): string {
  const lines: string[] = [];
  const cols = [
    "total",
    "@aws",
    "prov",
    "furl",
    "api_gw",
    "lambda",
    "λ@aws",
    "sqs",
    "dynamodb",
    "sched",
    "s3",
    "secrets",
    "logs",
  ];
  lines.push(
    `AWS cost per million delivered messages, us-east-1 list prices of ${result.prices_date}, no free tiers` +
      (result.quick ? " (quick run)" : ""),
  );
  lines.push("(@aws, λ@aws: Lambda billed with the emulators' waits replaced by assumed AWS latency;");
  lines.push(" prov: DynamoDB units as provisioned capacity at 70 % use, a model of the tableCapacity opt-in;");
  lines.push(" furl: producers on the Function URL (rawPathEndpoint): no API Gateway request, no access log;");
  lines.push(" <name>.t: the same workload at a trickle, one message per delivery batch)");
  lines.push(
    [
      "workload".padEnd(14),
      "deliv".padStart(5),
      ...cols.map((c) => c.padStart(7)),
      "WRU/m",
      "RRU/m",
      "SQS/m",
      "λ/m",
    ].join(" "),
  );
  const rows = [
    ...WORKLOADS.map((name) => [name, result.workloads[name]] as const),
    ...WORKLOADS.map((name) => [`${name}.t`, result.workloads_trickle[name]] as const),
  ];
  for (const [name, w] of rows) {
    const p = w.per_million;
    const values = [
      p.total,
      p.total_at_aws_latency,
      p.total_with_provisioned_capacity,
      p.total_via_function_url,
      p.api_gateway,
      p.lambda,
      p.lambda_at_aws_latency,
      p.sqs,
      p.dynamodb,
      p.scheduler,
      p.s3,
      p.secrets_manager,
      p.cloudwatch_logs,
    ];
    const d = w.per_delivered;
    lines.push(
      [
        name.padEnd(14),
        String(w.delivered).padStart(5),
        ...values.map((v) => v.toFixed(2).padStart(7)),
        ...[d.write_units, d.read_units, d.sqs_billed_requests, d.lambda_invocations].map((v) =>
          v.toFixed(2).padStart(5),
        ),
      ].join(" "),
    );
  }
  lines.push(`QStash pay-as-you-go: ${result.qstash_per_million.toFixed(2)} per million`);
  lines.push("");
  lines.push(
    `Idle cost per month: $${result.idle_per_month.toFixed(2)} ` +
      `with the dashboard ($${result.idle_per_month_without_dashboard.toFixed(2)} with dashboard: false)`,
  );
  for (const item of result.idle_items) {
    lines.push(`  ${`$${item.monthly_usd.toFixed(2)}`.padStart(7)}  ${item.item} x ${item.quantity}: ${item.note}`);
  }
  lines.push("");
  const t = result.targets;
  const mark = (met: boolean) => (met ? "met" : "NOT met");
  lines.push(`Target: idle <= $${t.idle_per_month.target}/month (${mark(t.idle_per_month.met)})`);
  lines.push(
    `Issue 16, each workload <= $${WORKLOAD_TARGET_USD} (body32k $10, single_lean $2; steady / trickle): ` +
      TARGETED_WORKLOADS.map((name) => {
        const x = t.per_workload[name];
        return `${name} ${x.met ? "met" : "NOT met"} / ${x.met_trickle ? "met" : "NOT met"}`;
      }).join(", "),
  );
  return lines.join("\n");
}
