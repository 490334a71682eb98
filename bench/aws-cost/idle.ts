// What a deployed stack bills while idle, read from the synthesized template: alarms, the dashboard,
// secrets, keys, the event source mapping's empty receives and the stack's recurring schedules.
import { DAYS_PER_MONTH, ESM_IDLE, PRICES } from "../prices-us-east-1.ts";
import type { IdleItem } from "./result.ts";
import type { CfnResource } from "./stack.ts";

/** An idle line: `quantity` units at a monthly price (`monthly_usd` as given when it is not quantity × price). */
function priced(
  item: string,
  quantity: number,
  unitUsd: number,
  note: string,
  monthlyUsd = quantity * unitUsd,
): IdleItem {
  return { item, quantity, unit_usd: unitUsd, monthly_usd: monthlyUsd, note };
}

/** What one firing of a recurring schedule costs in all (measured: the sweep's), and how it adds up. */
export interface FiringCost {
  usd: number;
  detail: string;
  /** DynamoDB requests of one firing: DynamoDB Local may report less capacity than AWS bills for them. */
  dynamoRequests: number;
}

/** Firings a month of a recurring Scheduler expression: `rate(n minutes|hours)` or `cron(0/n * * * ? *)`. */
export function firingsPerMonth(expression: string): number {
  const minutes = DAYS_PER_MONTH * 24 * 60;
  const rate = /^rate\((\d+) (minute|hour)s?\)$/.exec(expression);
  if (rate) return minutes / (Number(rate[1]) * (rate[2] === "hour" ? 60 : 1));
  const everyMinutes = /^cron\(0\/(\d+) \* \* \* \? \*\)$/.exec(expression);
  if (everyMinutes) return minutes / Number(everyMinutes[1]);
  throw new Error(`aws-cost: no firing count for the schedule expression ${expression}`);
}

export function idleItems(
  resources: Record<string, CfnResource>,
  metricNames: string[],
  dimensionSets: number,
  firing: FiringCost,
): IdleItem[] {
  const items: IdleItem[] = [];
  const all = Object.values(resources);
  const ofType = (type: string) => all.filter((r) => r.Type === type);

  let alarmMetrics = 0;
  let highRes = 0;
  for (const alarm of ofType("AWS::CloudWatch::Alarm")) {
    const p = alarm.Properties ?? {};
    const metrics = (p.Metrics ?? []) as { MetricStat?: { Period?: number } }[];
    const stats = p.MetricName ? [{ Period: Number(p.Period ?? 60) }] : metrics.flatMap((m) => m.MetricStat ?? []);
    for (const stat of stats) {
      if (Number(stat.Period ?? 60) < 60) highRes++;
      else alarmMetrics++;
    }
  }
  const alarms = ofType("AWS::CloudWatch::Alarm").length;
  items.push(
    priced(
      "CloudWatch alarms",
      alarmMetrics,
      PRICES.alarmMetricPerMonth.usd,
      `${alarms} alarms referencing ${alarmMetrics} metrics (a metric-math alarm bills each metric it uses)`,
    ),
  );
  if (highRes > 0) {
    items.push(
      priced("CloudWatch high-resolution alarms", highRes, PRICES.highResAlarmMetricPerMonth.usd, "period under 60 s"),
    );
  }
  const dashboards = ofType("AWS::CloudWatch::Dashboard").length;
  items.push(
    priced(
      "CloudWatch dashboards",
      dashboards,
      PRICES.dashboardPerMonth.usd,
      dashboards > 0
        ? "3 dashboards per account are free (not applied)"
        : `opt-in (dashboard: true): $${PRICES.dashboardPerMonth.usd.toFixed(2)} a month past an account's free three`,
    ),
  );
  const customMetrics = metricNames.length * Math.max(1, dimensionSets);
  items.push(
    priced(
      "CloudWatch custom metrics (EMF)",
      customMetrics,
      PRICES.customMetricPerMonth.usd,
      `${metricNames.length} names x ${Math.max(1, dimensionSets)} dimension set(s) ([service]): ${metricNames.join(", ")}. ` +
        "Billed pro rata for the hours a metric receives data: an empty deployment emits none and pays nothing; " +
        `one with traffic in every hour pays $${(customMetrics * PRICES.customMetricPerMonth.usd).toFixed(2)} a month`,
      0, // EMF metrics receive data only with traffic
    ),
  );
  const secrets = ofType("AWS::SecretsManager::Secret").reduce(
    (n, r) => n + 1 + ((r.Properties?.ReplicaRegions as unknown[] | undefined)?.length ?? 0),
    0,
  );
  items.push(
    priced(
      "Secrets Manager secrets",
      secrets,
      PRICES.secretPerMonth.usd,
      "the API token and signing keys (one secret)",
    ),
  );
  const kmsKeys = ofType("AWS::KMS::Key").length;
  items.push(
    priced(
      "KMS customer managed keys",
      kmsKeys,
      PRICES.kmsKeyPerMonth.usd,
      "queues are SQS-managed, the bucket S3-managed, the table and secret use AWS owned/managed keys",
    ),
  );
  const queues = new Map(Object.entries(resources).filter(([, r]) => r.Type === "AWS::SQS::Queue"));
  for (const esm of ofType("AWS::Lambda::EventSourceMapping")) {
    const p = esm.Properties ?? {};
    const arnRef = (p.EventSourceArn as { "Fn::GetAtt"?: [string, string] } | undefined)?.["Fn::GetAtt"]?.[0];
    const queue = arnRef ? queues.get(arnRef) : undefined;
    if (!queue) continue;
    const fifo = queue.Properties?.FifoQueue === true || queue.Properties?.FifoQueue === "true";
    const capped = (p.ScalingConfig as { MaximumConcurrency?: number } | undefined)?.MaximumConcurrency !== undefined;
    const pollers = capped ? ESM_IDLE.pollersWithMaxConcurrency : ESM_IDLE.pollersOptimized;
    const requests = Math.round(pollers * (86_400 / ESM_IDLE.longPollSeconds) * DAYS_PER_MONTH);
    const price = fifo ? PRICES.sqsFifoPerMillion.usd : PRICES.sqsStandardPerMillion.usd;
    items.push({
      item: "SQS empty receives of the event source mapping",
      quantity: requests,
      unit_usd: price / 1e6,
      monthly_usd: (requests * price) / 1e6,
      note:
        `assumed ${pollers} pollers (${capped ? "MaximumConcurrency is set, so Lambda keeps 5" : "Lambda optimizes to 2"}) ` +
        `each long-polling ${ESM_IDLE.longPollSeconds} s, one after another`,
    });
    if (p.ProvisionedPollerConfig) {
      items.push({
        item: "ESM provisioned pollers",
        quantity: 0,
        unit_usd: 0,
        monthly_usd: 0,
        note: "provisioned mode bills event poller units: not modelled",
      });
    }
  }
  // The stack's own recurring schedules (the sweep): each firing is a Scheduler invocation plus the work it
  // starts. The group is free, and Herald's one-time and schedule triggers exist only with traffic.
  for (const schedule of ofType("AWS::Scheduler::Schedule")) {
    const expression = String(schedule.Properties?.ScheduleExpression);
    const firings = Math.round(firingsPerMonth(expression));
    items.push(
      priced(
        `Recurring schedule ${String(schedule.Properties?.Name)} (${expression})`,
        firings,
        firing.usd,
        `per firing, measured on emulated AWS: ${firing.detail}. Were each DynamoDB query billed one read unit, ` +
          `that would add $${((firing.dynamoRequests * firings * PRICES.dynamoReadRequestUnitPerMillion.usd) / 1e6).toFixed(3)} a month`,
      ),
    );
  }
  const provisioned = ofType("AWS::Lambda::Function").filter((r) => r.Properties?.ProvisionedConcurrencyConfig);
  items.push({
    item: "Lambda, API Gateway, DynamoDB on-demand, SQS queues, S3, log groups",
    quantity: 0,
    unit_usd: 0,
    monthly_usd: 0,
    note:
      `billed per use: nothing while idle (provisioned concurrency: ${provisioned.length}); an empty table, bucket ` +
      "and log groups store ~0 bytes (PITR bills on table size)",
  });
  return items;
}
