// Pricing a meter: US dollars per service at bench/prices-us-east-1.ts's list prices, and a workload's
// figures per million delivered messages.
import {
  DAYS_PER_MONTH,
  GIB,
  LAMBDA_PLATFORM_LOG_LINES,
  LOG_EVENT_OVERHEAD_BYTES,
  PRICES,
} from "../prices-us-east-1.ts";
import { WORKFLOW_STEP_HORIZON_MS } from "../../lambdas/core/workflow.ts";
import { SECRET_CACHE_MS } from "../../lambdas/adapters/aws/secrets-manager-keys.ts";
import { utf8, type Fn, type Meter } from "./meter.ts";
import type { CostLine, DeliveryMode, ServiceDollars, WorkloadResult } from "./result.ts";
import type { StackFacts } from "./stack.ts";

function lambdaDollars(m: Meter, facts: StackFacts, atAwsLatency: boolean): number {
  return (["api", "deliver"] as const).reduce((sum, fn) => {
    const l = m.lambda[fn];
    const gbSeconds = ((atAwsLatency ? l.billedMsAtAws : l.billedMs) / 1000) * (facts.memoryMb[fn] / 1024);
    return (
      sum + (l.invocations * PRICES.lambdaPerMillionRequests.usd) / 1e6 + gbSeconds * PRICES.lambdaArmPerGbSecond.usd
    );
  }, 0);
}

/** Days a workflow step log item is kept: the step horizon (a year) plus the retention. */
const stepLogDays = (facts: StackFacts): number => WORKFLOW_STEP_HORIZON_MS / 86_400_000 + facts.retentionDays;

/** GB-months of the stored bytes: kept the retention, the step log's share a year longer. */
function storedGbMonths(m: Meter, facts: StackFacts, storedBytes: number): number {
  const stepLog = Math.max(0, Math.min(m.stepLogStoredBytes, storedBytes));
  const rest = Math.max(0, storedBytes - stepLog);
  return (rest * facts.retentionDays + stepLog * stepLogDays(facts)) / GIB / DAYS_PER_MONTH;
}

export function dollars(
  m: Meter,
  facts: StackFacts,
  storedBytes: number,
): ServiceDollars & { storageGbMonths: number } {
  const lambda = lambdaDollars(m, facts, false);
  const storageGbMonths = storedGbMonths(m, facts, storedBytes);
  const logBytes = billedLogBytes(m, facts);
  return {
    api_gateway: (m.apiMetered * PRICES.apiGatewayHttpPerMillion.usd) / 1e6,
    lambda,
    sqs: (m.sqsBilled * PRICES.sqsStandardPerMillion.usd + m.sqsBilledFifo * PRICES.sqsFifoPerMillion.usd) / 1e6,
    dynamodb:
      requestUnitDollars(m).onDemand +
      storageGbMonths * (PRICES.dynamoStoragePerGbMonth.usd + PRICES.dynamoPitrPerGbMonth.usd),
    scheduler: (m.schedulerInvocations * PRICES.schedulerPerMillionInvocations.usd) / 1e6,
    s3:
      (m.s3Put * PRICES.s3PutPerThousand.usd) / 1000 +
      (m.s3Get * PRICES.s3GetPerThousand.usd) / 1000 +
      // Bodies in S3 live until the bucket's lifecycle rule (retention + 400 days): an upper bound.
      (m.s3PutBytes / GIB) * ((facts.retentionDays + 400) / DAYS_PER_MONTH) * PRICES.s3StoragePerGbMonth.usd,
    // A container reads the secret once a minute whatever its traffic: a cost per warm container
    // (secretsPerWarmContainerMonth), shared by the messages of that minute, not a cost per message.
    // Any other call (a first use's or a rotation's write) is billed where it happens.
    secrets_manager: [...m.secretsCalls].reduce(
      (usd, [operation, calls]) => usd + calls * secretsCallUsd(operation),
      0,
    ),
    cloudwatch_logs:
      ((logBytes - accessLogBilledBytes(m)) * PRICES.logsIngestionPerGb.usd +
        accessLogBilledBytes(m) * accessLogIngestionPerGb(facts) +
        logBytes * logStoragePerGb(facts)) /
      GIB,
    storageGbMonths,
  };
}

/**
 * Average use of provisioned capacity at a steady load: auto scaling's default target (the `tableCapacity`
 * opt-in's too). Below it the same requests cost more; bursts beyond capacity are throttled.
 */
export const PROVISIONED_UTILIZATION = 0.7;

/** What the meter's DynamoDB request units cost on demand, and as provisioned capacity at the utilization above. */
function requestUnitDollars(m: Meter): { onDemand: number; provisioned: number } {
  const hourlyToUnit = 1 / 3600 / PROVISIONED_UTILIZATION;
  return {
    onDemand:
      (m.writeUnits * PRICES.dynamoWriteRequestUnitPerMillion.usd +
        m.readUnits * PRICES.dynamoReadRequestUnitPerMillion.usd) /
      1e6,
    provisioned:
      (m.writeUnits * PRICES.dynamoProvisionedWriteUnitHour.usd +
        m.readUnits * PRICES.dynamoProvisionedReadUnitHour.usd) *
      hourlyToUnit,
  };
}

export function dollarsTotal(d: ServiceDollars): number {
  return d.api_gateway + d.lambda + d.sqs + d.dynamodb + d.scheduler + d.s3 + d.secrets_manager + d.cloudwatch_logs;
}

export const dynamoRequestsOf = (m: Meter): number =>
  [...m.requests].filter(([key]) => key.startsWith("DynamoDB ")).reduce((n, [, v]) => n + v, 0);

/** One measured firing's billable counts, for the idle item's note. */
export function sweepDetail(m: Meter, facts: StackFacts): string {
  const l = m.lambda.deliver;
  const dynamoRequests = dynamoRequestsOf(m);
  return (
    `${m.schedulerInvocations} Scheduler invocation, ${m.sqsBilled} SQS requests, ${l.invocations} delivery ` +
    `invocation(s) of ${l.billedMs} ms at ${facts.memoryMb.deliver} MB, ${dynamoRequests} DynamoDB queries ` +
    `(${round(m.readUnits, 1)} read units as DynamoDB Local reports them), ` +
    `${billedLogBytes(m, facts)} log bytes; each queue and each flow-control key with a free slot adds about one query`
  );
}

export const PLATFORM_LOG_BYTES = LAMBDA_PLATFORM_LOG_LINES.reduce((n, line) => n + utf8(line), 0);

function invocations(m: Meter): number {
  return m.lambda.api.invocations + m.lambda.deliver.invocations;
}

/** The access log's billed bytes: its lines, and each event's overhead. */
const accessLogBilledBytes = (m: Meter): number => m.accessLogBytes + m.apiRequests * LOG_EVENT_OVERHEAD_BYTES;

/** A GB of logs kept for the stack's log retention. */
const logStoragePerGb = (facts: StackFacts): number =>
  PRICES.logsStoragePerGbMonth.usd * (facts.logRetentionDays / DAYS_PER_MONTH);

/** The access log group's ingestion price: its class is the stack's. */
const accessLogIngestionPerGb = (facts: StackFacts): number =>
  facts.accessLogInfrequentAccess ? PRICES.logsIngestionInfrequentAccessPerGb.usd : PRICES.logsIngestionPerGb.usd;

/**
 * What a producer stops paying when it calls the API through the Function URL (`rawPathEndpoint`, output
 * `RawPathUrl`) instead of API Gateway: the HTTP API's request charge and the stage's access log (its
 * ingestion and its storage). A function URL's request is billed as the Lambda invocation it is, requests
 * and duration (https://aws.amazon.com/lambda/pricing/), which both ways pay; it has no request price of
 * its own and no access log ("Select a method to invoke your Lambda function using an HTTP request",
 * Lambda Developer Guide).
 */
function apiGatewayShareUsd(m: Meter, d: ServiceDollars, facts: StackFacts): number {
  return d.api_gateway + (accessLogBilledBytes(m) * (accessLogIngestionPerGb(facts) + logStoragePerGb(facts))) / GIB;
}

function billedLogBytes(m: Meter, facts: StackFacts): number {
  const platform = facts.platformLogged ? invocations(m) : 0;
  const events = m.functionLogEvents + platform * LAMBDA_PLATFORM_LOG_LINES.length + m.apiRequests;
  return m.functionLogBytes + platform * PLATFORM_LOG_BYTES + m.accessLogBytes + events * LOG_EVENT_OVERHEAD_BYTES;
}

export const round = (n: number, digits = 4): number => Number(n.toFixed(digits));

/** The read each container makes once a minute (SecretsManagerKeys' cache): priced per container. */
const CACHED_READ = "GetSecretValue";

/** What one Secrets Manager call costs a workload: nothing for the cached read, the list price otherwise. */
const secretsCallUsd = (operation: string): number =>
  operation === CACHED_READ ? 0 : PRICES.secretsPerTenThousandCalls.usd / 1e4;

/**
 * The bill of a meter line by line — each AWS service's operation or meter with its billed quantity per
 * message, unit price and cost per million messages — priced as `dollars` prices it (the lines add up to
 * its total). Lines that bill nothing (Scheduler API calls, empty-capacity requests) are kept, at $0.
 */
export function costLines(m: Meter, facts: StackFacts, storedBytes: number, messages: number): CostLine[] {
  const n = Math.max(1, messages);
  const lines: CostLine[] = [];
  const add = (
    line: string,
    service: CostLine["service"],
    quantity: number,
    unit: string,
    unitUsd: number,
    requests?: number,
    note?: string,
  ) => {
    if (quantity === 0 && !requests) return;
    lines.push({
      line,
      service,
      ...(requests === undefined ? {} : { requests_per_message: round(requests / n, 4) }),
      per_message: round(quantity / n, 6),
      unit,
      unit_usd: unitUsd,
      usd_per_million: round(((quantity * unitUsd) / n) * 1e6, 4),
      ...(note ? { note } : {}),
    });
  };
  add(
    "API Gateway request",
    "api_gateway",
    m.apiMetered,
    "request (512 KB)",
    PRICES.apiGatewayHttpPerMillion.usd / 1e6,
    m.apiRequests,
  );
  for (const fn of ["api", "deliver"] as const) {
    const l = m.lambda[fn];
    add(`Lambda invoke (${fn})`, "lambda", l.invocations, "invocation", PRICES.lambdaPerMillionRequests.usd / 1e6);
    add(
      `Lambda GB-s (${fn})`,
      "lambda",
      (l.billedMs / 1000) * (facts.memoryMb[fn] / 1024),
      "GB-s",
      PRICES.lambdaArmPerGbSecond.usd,
      undefined,
      l.invocations > 0
        ? `${round(l.billedMs / l.invocations, 1)} ms billed per invocation at ${facts.memoryMb[fn]} MB ` +
            `(${round(l.billedMsAtAws / l.invocations, 1)} ms at AWS latency)`
        : undefined,
    );
  }
  for (const [label, v] of [...m.sqsByOp].sort(([a], [b]) => a.localeCompare(b))) {
    const price = v.fifo ? PRICES.sqsFifoPerMillion.usd : PRICES.sqsStandardPerMillion.usd;
    const who = label.replace("(platform)", "(event source mapping)");
    add(`SQS ${who}`, "sqs", v.billed, "request (64 KB)", price / 1e6, v.requests);
  }
  for (const [operation, v] of [...m.dynamoByOp].sort(([a], [b]) => a.localeCompare(b))) {
    if (v.write > 0 || v.read === 0) {
      add(
        `DynamoDB ${operation}`,
        "dynamodb",
        v.write,
        "WRU",
        PRICES.dynamoWriteRequestUnitPerMillion.usd / 1e6,
        v.requests,
      );
    }
    if (v.read > 0) {
      add(
        `DynamoDB ${operation}`,
        "dynamodb",
        v.read,
        "RRU",
        PRICES.dynamoReadRequestUnitPerMillion.usd / 1e6,
        v.requests,
      );
    }
  }
  const perGbMonth = PRICES.dynamoStoragePerGbMonth.usd + PRICES.dynamoPitrPerGbMonth.usd;
  const stepLog = Math.max(0, Math.min(m.stepLogStoredBytes, storedBytes));
  add(
    "DynamoDB storage + PITR",
    "dynamodb",
    Math.max(0, storedBytes - stepLog),
    `byte kept ${facts.retentionDays} days`,
    (perGbMonth * (facts.retentionDays / DAYS_PER_MONTH)) / GIB,
  );
  add(
    "DynamoDB storage + PITR (workflow step log)",
    "dynamodb",
    stepLog,
    `byte kept ${stepLogDays(facts)} days`,
    (perGbMonth * (stepLogDays(facts) / DAYS_PER_MONTH)) / GIB,
  );
  add(
    "Scheduler invocation",
    "scheduler",
    m.schedulerInvocations,
    "invocation",
    PRICES.schedulerPerMillionInvocations.usd / 1e6,
  );
  for (const [operation, calls] of m.schedulerCalls) {
    add(`Scheduler ${operation}`, "scheduler", calls, "API call (not billed)", 0, calls);
  }
  add("S3 PUT-class request", "s3", m.s3Put, "request", PRICES.s3PutPerThousand.usd / 1000);
  add("S3 GET-class request", "s3", m.s3Get, "request", PRICES.s3GetPerThousand.usd / 1000);
  add(
    "S3 storage",
    "s3",
    m.s3PutBytes,
    `byte kept ${facts.retentionDays + 400} days`,
    (PRICES.s3StoragePerGbMonth.usd * ((facts.retentionDays + 400) / DAYS_PER_MONTH)) / GIB,
  );
  for (const [operation, calls] of m.secretsCalls) {
    const unit = operation === CACHED_READ ? "API call (priced per warm container)" : "API call";
    add(`Secrets Manager ${operation}`, "secrets_manager", calls, unit, secretsCallUsd(operation), calls);
  }
  const platform = facts.platformLogged ? invocations(m) : 0;
  const ingest = PRICES.logsIngestionPerGb.usd / GIB;
  const overhead = LOG_EVENT_OVERHEAD_BYTES;
  add(
    "CloudWatch Logs ingest (handler logs, EMF)",
    "cloudwatch_logs",
    m.functionLogBytes + m.functionLogEvents * overhead,
    "byte",
    ingest,
    undefined,
    `${round(m.functionLogEvents / n, 2)} events per message, ${round(m.emfLines / n, 2)} of them EMF`,
  );
  add(
    facts.accessLogInfrequentAccess
      ? "CloudWatch Logs ingest (API access log, Infrequent Access)"
      : "CloudWatch Logs ingest (API access log)",
    "cloudwatch_logs",
    accessLogBilledBytes(m),
    "byte",
    accessLogIngestionPerGb(facts) / GIB,
  );
  add(
    "CloudWatch Logs ingest (Lambda platform records)",
    "cloudwatch_logs",
    platform * (PLATFORM_LOG_BYTES + LAMBDA_PLATFORM_LOG_LINES.length * overhead),
    "byte",
    ingest,
  );
  add(
    "CloudWatch Logs storage",
    "cloudwatch_logs",
    billedLogBytes(m, facts),
    `byte kept ${facts.logRetentionDays} days`,
    logStoragePerGb(facts) / GIB,
  );
  return lines.sort((a, b) => b.usd_per_million - a.usd_per_million || a.line.localeCompare(b.line));
}

export function summarize(
  description: string,
  m: Meter,
  facts: StackFacts,
  published: number,
  delivered: number,
  storedBytes: number,
  wallMs: number,
  mode: DeliveryMode = "steady",
  messages = delivered,
): WorkloadResult {
  const d = dollars(m, facts, storedBytes);
  const perMillion = (usd: number) => round((usd / Math.max(1, messages)) * 1e6);
  const services: ServiceDollars = {
    api_gateway: perMillion(d.api_gateway),
    lambda: perMillion(d.lambda),
    sqs: perMillion(d.sqs),
    dynamodb: perMillion(d.dynamodb),
    scheduler: perMillion(d.scheduler),
    s3: perMillion(d.s3),
    secrets_manager: perMillion(d.secrets_manager),
    cloudwatch_logs: perMillion(d.cloudwatch_logs),
  };
  const totalUsd =
    d.api_gateway + d.lambda + d.sqs + d.dynamodb + d.scheduler + d.s3 + d.secrets_manager + d.cloudwatch_logs;
  const lambdaAtAws = lambdaDollars(m, facts, true);
  const units = requestUnitDollars(m);
  const lambdaOf = (fn: Fn) => ({
    invocations: m.lambda[fn].invocations,
    billed_ms: m.lambda[fn].billedMs,
    gb_seconds: round((m.lambda[fn].billedMs / 1000) * (facts.memoryMb[fn] / 1024), 3),
    avg_ms: round(m.lambda[fn].rawMs / Math.max(1, m.lambda[fn].invocations), 2),
    avg_ms_at_aws_latency: round(m.lambda[fn].billedMsAtAws / Math.max(1, m.lambda[fn].invocations), 2),
  });
  const per = (n: number) => round(n / Math.max(1, messages), 3);
  const logBytes = billedLogBytes(m, facts);
  return {
    description,
    published,
    delivered,
    messages,
    mode,
    wall_ms: Math.round(wallMs),
    per_million: {
      ...services,
      total: perMillion(totalUsd),
      lambda_at_aws_latency: perMillion(lambdaAtAws),
      total_at_aws_latency: perMillion(totalUsd - d.lambda + lambdaAtAws),
      total_with_provisioned_capacity: perMillion(totalUsd - units.onDemand + units.provisioned),
      total_via_function_url: perMillion(totalUsd - apiGatewayShareUsd(m, d, facts)),
    },
    counts: {
      requests: Object.fromEntries([...m.requests].sort(([a], [b]) => a.localeCompare(b))),
      api_gateway: { requests: m.apiRequests, metered_requests: m.apiMetered },
      lambda: { api: lambdaOf("api"), deliver: lambdaOf("deliver") },
      avg_records_per_delivery_batch: round(m.receivedMessages / Math.max(1, m.lambda.deliver.invocations), 2),
      dynamodb: {
        read_units: round(m.readUnits, 2),
        write_units: round(m.writeUnits, 2),
        by_target: Object.fromEntries(
          [...m.byTarget].map(([k, v]) => [k, { read_units: round(v.read, 2), write_units: round(v.write, 2) }]),
        ),
        conditional_check_failures: m.conditionalFailures,
        stored_bytes: storedBytes,
        ...(m.stepLogStoredBytes > 0 ? { step_log_stored_bytes: m.stepLogStoredBytes } : {}),
        storage_gb_months: round(d.storageGbMonths, 6),
      },
      sqs: {
        billed_requests: m.sqsBilled,
        billed_requests_fifo: m.sqsBilledFifo,
        empty_receives_excluded: m.emptyReceives,
        payload_bytes: m.sqsPayloadBytes,
      },
      scheduler: { api_calls: Object.fromEntries(m.schedulerCalls), invocations: m.schedulerInvocations },
      secrets_manager: Object.fromEntries(m.secretsCalls),
      s3: { put_class: m.s3Put, get_class: m.s3Get, put_bytes: m.s3PutBytes },
      logs: {
        function_bytes: m.functionLogBytes,
        function_events: m.functionLogEvents,
        platform_bytes: (facts.platformLogged ? invocations(m) : 0) * PLATFORM_LOG_BYTES,
        access_log_bytes: m.accessLogBytes,
        billed_bytes: logBytes,
        emf_lines: m.emfLines,
      },
    },
    cost_lines: costLines(m, facts, storedBytes, messages),
    per_delivered: {
      write_units: per(m.writeUnits),
      read_units: per(m.readUnits),
      sqs_billed_requests: per(m.sqsBilled + m.sqsBilledFifo),
      lambda_invocations: per(invocations(m)),
      log_bytes: per(logBytes),
      stored_bytes: per(storedBytes),
    },
  };
}

/**
 * What each warm Lambda container pays Secrets Manager in a month: one GetSecretValue each time its cached
 * copy is older than SECRET_CACHE_MS, i.e. once a minute while it serves. In a workload's per-message
 * figures it would be one read shared by a minute's messages; a quick run's few messages (and delay2h's
 * two-hour clock jump, which expires the cache) would put a whole read on a handful of them.
 */
export function secretsPerWarmContainerMonth(): number {
  const readsPerMonth = (DAYS_PER_MONTH * 86_400_000) / SECRET_CACHE_MS;
  return round((readsPerMonth * PRICES.secretsPerTenThousandCalls.usd) / 1e4);
}
