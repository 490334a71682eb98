// AWS cost per million messages (GitHub issue 5): runs Herald's workloads through emulated AWS in process
// (the real Lambda handlers and AWS adapters on DynamoDB Local and fauxqs, see emulation/emulated-aws-server.ts),
// counts every billable request, capacity unit, invocation and log byte, and prices them with
// bench/prices-us-east-1.ts. Also derives the idle cost per month from the synthesized stack.
//
//   npx node bench/aws-cost.ts [--quick]      prints a table, then the result as JSON
//
// What is measured and what is assumed is listed in the result's `notes`.
import { readdirSync, readFileSync, rmSync, mkdtempSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { DynamoDBClient, ScanCommand, type AttributeValue } from "@aws-sdk/client-dynamodb";
import { GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { GSI_LISTS } from "../lambdas/adapters/aws/table-schema.ts";
import {
  currentInvocation,
  startAwsLocal,
  type AwsLocalHerald,
  type Invocation,
} from "../emulation/emulated-aws-server.ts";
import { EMULATOR_CREDENTIALS, EMULATOR_REGION } from "../emulation/emulators.ts";
import {
  ACCESS_LOG_SAMPLE,
  API_GATEWAY_HTTP_METERING_BYTES,
  ASSUMED_AWS_LATENCY_MS,
  DAYS_PER_MONTH,
  ESM_IDLE,
  GIB,
  LAMBDA_PLATFORM_LOG_LINES,
  LOG_EVENT_OVERHEAD_BYTES,
  PRICES,
  PRICES_DATE,
  SQS_CHUNK_BYTES,
} from "./prices-us-east-1.ts";

export const WORKLOADS = ["single", "single_lean", "batch100", "delay2h", "fifo", "fanout3", "retry1"] as const;
export type WorkloadName = (typeof WORKLOADS)[number];

export interface ServiceDollars {
  api_gateway: number;
  lambda: number;
  sqs: number;
  dynamodb: number;
  scheduler: number;
  s3: number;
  secrets_manager: number;
  cloudwatch_logs: number;
}

export interface WorkloadResult {
  description: string;
  /** Messages accepted by the API (one per destination URL group endpoint counts once here). */
  published: number;
  /** 2xx deliveries counted at the sink: what the per-million figures divide by. */
  delivered: number;
  wall_ms: number;
  /**
   * US dollars per million delivered messages, by service, and the total; `lambda_at_aws_latency` and
   * `total_at_aws_latency` redo the Lambda part with the emulators' latency replaced by AWS's (assumed).
   */
  per_million: ServiceDollars & { total: number; lambda_at_aws_latency: number; total_at_aws_latency: number };
  counts: {
    /** Every AWS request by who made it ("lambda": Herald's code; "platform": ESM poller, Scheduler target). */
    requests: Record<string, number>;
    api_gateway: { requests: number; metered_requests: number };
    lambda: Record<
      "api" | "deliver",
      { invocations: number; billed_ms: number; gb_seconds: number; avg_ms: number; avg_ms_at_aws_latency: number }
    >;
    /** Records per delivery invocation (the event source mapping's batches, as the emulated poller formed them). */
    avg_records_per_delivery_batch: number;
    dynamodb: {
      read_units: number;
      write_units: number;
      /** Capacity units per target: the table and each GSI. */
      by_target: Record<string, { read_units: number; write_units: number }>;
      /** Failed condition checks report no consumed capacity: counted as 1 WRU each (estimate, included above). */
      conditional_check_failures: number;
      /** Net growth of stored bytes (items + 100 B overhead, per table and GSI entry) during the workload. */
      stored_bytes: number;
      storage_gb_months: number;
    };
    sqs: {
      billed_requests: number;
      billed_requests_fifo: number;
      /** Empty receives of the emulated poller: not billed here (see notes: idle polling is in the idle cost). */
      empty_receives_excluded: number;
      payload_bytes: number;
    };
    scheduler: { api_calls: Record<string, number>; invocations: number };
    secrets_manager: Record<string, number>;
    s3: { put_class: number; get_class: number; put_bytes: number };
    logs: {
      function_bytes: number;
      function_events: number;
      platform_bytes: number;
      access_log_bytes: number;
      /** All of the above plus LOG_EVENT_OVERHEAD_BYTES per event. */
      billed_bytes: number;
      emf_lines: number;
    };
  };
  per_delivered: {
    write_units: number;
    read_units: number;
    sqs_billed_requests: number;
    lambda_invocations: number;
    log_bytes: number;
    stored_bytes: number;
  };
}

export interface IdleItem {
  item: string;
  quantity: number;
  unit_usd: number;
  monthly_usd: number;
  note: string;
}

export interface Target {
  target: number;
  actual: number;
  met: boolean;
  actual_at_aws_latency: number;
  met_at_aws_latency: boolean;
}

export interface AwsCostResult {
  prices_date: string;
  quick: boolean;
  messages_per_workload: Record<WorkloadName, number>;
  /** US dollars per million messages delivered (Lambda billed on the measured, emulated durations). */
  cost_per_million: Record<WorkloadName, number>;
  /** The same with each Lambda invocation's emulator waits replaced by assumed AWS latency. */
  cost_per_million_at_aws_latency: Record<WorkloadName, number>;
  /** QStash pay-as-you-go: $1 per 100K messages. */
  qstash_per_million: number;
  /** US dollars per month for a deployed default stack (with its dashboard) and no traffic (idle_items). */
  idle_per_month: number;
  /** The same as idle_per_month (the default stack has the dashboard); kept for earlier results' readers. */
  idle_per_month_with_dashboard: number;
  /** Without the dashboard (`dashboard: false`): a dashboard is $3 a month past an account's free three. */
  idle_per_month_without_dashboard: number;
  idle_items: IdleItem[];
  targets: {
    single_first_try: Target;
    batch100: Target;
    idle_per_month: { target: number; actual: number; met: boolean };
  };
  stack: {
    lambda_memory_mb: { api: number; deliver: number };
    retention_days: number;
    log_retention_days: number;
    custom_metrics: string[];
  };
  workloads: Record<WorkloadName, WorkloadResult>;
  duration_ms: number;
  notes: string[];
}

// ---------------------------------------------------------------------------------------------------------
// Counting

type Owner = "lambda" | "platform";
type Fn = "api" | "deliver";

class Meter {
  readonly requests = new Map<string, number>();
  readonly byTarget = new Map<string, { read: number; write: number }>();
  readUnits = 0;
  writeUnits = 0;
  conditionalFailures = 0;
  sqsBilled = 0;
  sqsBilledFifo = 0;
  emptyReceives = 0;
  receivedMessages = 0;
  sqsPayloadBytes = 0;
  schedulerInvocations = 0;
  readonly schedulerCalls = new Map<string, number>();
  readonly secretsCalls = new Map<string, number>();
  s3Put = 0;
  s3Get = 0;
  s3PutBytes = 0;
  readonly lambda: Record<Fn, { invocations: number; billedMs: number; rawMs: number; billedMsAtAws: number }> = {
    api: { invocations: 0, billedMs: 0, rawMs: 0, billedMsAtAws: 0 },
    deliver: { invocations: 0, billedMs: 0, rawMs: 0, billedMsAtAws: 0 },
  };
  functionLogBytes = 0;
  functionLogEvents = 0;
  emfLines = 0;
  apiRequests = 0;
  apiMetered = 0;
  accessLogBytes = 0;

  count(key: string, map = this.requests, n = 1): void {
    map.set(key, (map.get(key) ?? 0) + n);
  }

  capacity(target: string, kind: "read" | "write", units: number): void {
    const entry = this.byTarget.get(target) ?? { read: 0, write: 0 };
    entry[kind] += units;
    this.byTarget.set(target, entry);
  }
}

/**
 * AWS requests made inside each handler invocation (start, end, assumed AWS latency), to work out what the
 * invocation would have taken at AWS latency: its wall time minus the time it waited on the emulators, plus
 * the assumed latency once per stretch of waiting (overlapping requests wait together).
 */
const waits = new WeakMap<Invocation, { start: number; end: number; assumed: number }[]>();

function recordWait(service: string, start: number, end: number): void {
  const invocation = currentInvocation();
  if (!invocation) return;
  const list = waits.get(invocation) ?? [];
  list.push({ start, end, assumed: ASSUMED_AWS_LATENCY_MS[service] ?? 10 });
  waits.set(invocation, list);
}

function msAtAwsLatency(invocation: Invocation, wallMs: number): number {
  const list = (waits.get(invocation) ?? []).sort((a, b) => a.start - b.start);
  let waited = 0;
  let assumed = 0;
  let stretch: { start: number; end: number; assumed: number } | undefined;
  for (const w of [...list, undefined]) {
    if (stretch && w && w.start <= stretch.end) {
      stretch.end = Math.max(stretch.end, w.end);
      stretch.assumed = Math.max(stretch.assumed, w.assumed);
      continue;
    }
    if (stretch) {
      waited += stretch.end - stretch.start;
      assumed += stretch.assumed;
    }
    stretch = w && { ...w };
  }
  return Math.max(1, wallMs - waited + assumed);
}

const DYNAMO_CAPACITY_OPS = new Set([
  "GetItem",
  "PutItem",
  "UpdateItem",
  "DeleteItem",
  "Query",
  "Scan",
  "BatchGetItem",
  "BatchWriteItem",
  "TransactGetItems",
  "TransactWriteItems",
  "ExecuteStatement",
  "BatchExecuteStatement",
  "ExecuteTransaction",
]);
const DYNAMO_WRITE_OPS = new Set(["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"]);
const S3_GET_CLASS = new Set(["GetObject", "HeadObject", "SelectObjectContent"]);
const SERVICE_OF: Record<string, string> = { DynamoDBClient: "DynamoDB", SQSClient: "SQS", S3Client: "S3" };

interface ConsumedCapacity {
  CapacityUnits?: number;
  ReadCapacityUnits?: number;
  WriteCapacityUnits?: number;
  Table?: { CapacityUnits?: number };
  GlobalSecondaryIndexes?: Record<string, { CapacityUnits?: number }>;
  LocalSecondaryIndexes?: Record<string, { CapacityUnits?: number }>;
}
interface SqsAttribute {
  DataType?: string;
  StringValue?: string;
  BinaryValue?: Uint8Array;
}
interface SqsMessageLike {
  MessageBody?: string;
  Body?: string;
  MessageAttributes?: Record<string, SqsAttribute>;
}

type Input = Record<string, unknown>;
type Handler = (args: { input: Input }) => Promise<{ output: Record<string, unknown> }>;
type Middleware = (next: Handler, context: { clientName?: string; commandName?: string }) => Handler;
/** The part of an AWS SDK v3 client the counting middleware needs. */
interface Instrumentable {
  middlewareStack: { add(middleware: Middleware, options: { step: "initialize"; name: string }): void };
}

const utf8 = (text: string | undefined): number => (text ? Buffer.byteLength(text) : 0);

function sqsMessageBytes(message: SqsMessageLike): number {
  let bytes = utf8(message.MessageBody ?? message.Body);
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    bytes += utf8(name) + utf8(value.DataType) + utf8(value.StringValue) + (value.BinaryValue?.byteLength ?? 0);
  }
  return bytes;
}

/**
 * Counts each request of an instrumented client per service and operation into the current meter; for
 * DynamoDB it asks for the consumed capacity (INDEXES: the total plus the table/GSI split) and sums it; for
 * SQS it works out the billed requests (one per started 64 KB of payload, at least one).
 */
function countingMiddleware(meter: () => Meter, owner: Owner): Middleware {
  return (next, context) => async (args) => {
    const service = SERVICE_OF[context.clientName ?? ""] ?? context.clientName ?? "?";
    const operation = (context.commandName ?? "?").replace(/Command$/, "");
    if (service === "DynamoDB" && DYNAMO_CAPACITY_OPS.has(operation)) args.input.ReturnConsumedCapacity = "INDEXES";
    const kind = DYNAMO_WRITE_OPS.has(operation) ? "write" : "read";
    let result: Awaited<ReturnType<Handler>>;
    const start = performance.now();
    try {
      result = await next(args);
    } catch (error) {
      recordWait(service, start, performance.now());
      const m = meter();
      m.count(`${service} ${operation} (${owner})`);
      const name = (error as { name?: string }).name;
      if (
        service === "DynamoDB" &&
        (name === "ConditionalCheckFailedException" || name === "TransactionCanceledException")
      ) {
        // The failed write is billed (at least 1 WRU) but the error carries no ConsumedCapacity: estimate.
        m.conditionalFailures++;
        m.writeUnits += 1;
        m.capacity("table (failed condition, estimated)", "write", 1);
      }
      if (service === "SQS") m.sqsBilled++;
      throw error;
    }
    recordWait(service, start, performance.now());
    // Counted when answered, in the meter of that moment: a long poll that started before a workload and
    // returns its messages belongs to it; one still waiting at its end does not.
    const m = meter();
    m.count(`${service} ${operation} (${owner})`);
    const output = result.output;
    if (service === "DynamoDB") {
      for (const cc of [output.ConsumedCapacity].flat() as (ConsumedCapacity | undefined)[]) {
        if (!cc) continue;
        const units = cc.CapacityUnits ?? (cc.ReadCapacityUnits ?? 0) + (cc.WriteCapacityUnits ?? 0);
        if (kind === "write") m.writeUnits += units;
        else m.readUnits += units;
        if (cc.Table?.CapacityUnits) m.capacity("table", kind, cc.Table.CapacityUnits);
        for (const [index, v] of Object.entries({ ...cc.GlobalSecondaryIndexes, ...cc.LocalSecondaryIndexes })) {
          if (v.CapacityUnits) m.capacity(`index ${index}`, kind, v.CapacityUnits);
        }
      }
    } else if (service === "SQS") {
      let payload = 0;
      if (operation === "SendMessage") payload = sqsMessageBytes(args.input as SqsMessageLike);
      if (operation === "SendMessageBatch") {
        for (const entry of (args.input.Entries ?? []) as SqsMessageLike[]) payload += sqsMessageBytes(entry);
      }
      if (operation === "ReceiveMessage") {
        const messages = (output.Messages ?? []) as SqsMessageLike[];
        if (messages.length === 0 && owner === "platform") m.emptyReceives++;
        m.receivedMessages += messages.length;
        for (const message of messages) payload += sqsMessageBytes(message);
      }
      const emptyPlatformReceive = operation === "ReceiveMessage" && owner === "platform" && payload === 0;
      if (!emptyPlatformReceive) {
        const billed = Math.max(1, Math.ceil(payload / SQS_CHUNK_BYTES));
        if (String(args.input.QueueUrl ?? "").endsWith(".fifo")) m.sqsBilledFifo += billed;
        else m.sqsBilled += billed;
      }
      m.sqsPayloadBytes += payload;
      // EventBridge Scheduler's sends to its target queue are what it bills as invocations.
      if (owner === "platform" && operation === "SendMessage") m.schedulerInvocations++;
    } else if (service === "S3") {
      if (S3_GET_CLASS.has(operation)) m.s3Get++;
      else m.s3Put++;
      const body = args.input.Body;
      if (operation === "PutObject" && (typeof body === "string" || body instanceof Uint8Array)) {
        m.s3PutBytes += typeof body === "string" ? utf8(body) : body.byteLength;
      }
    }
    return result;
  };
}

/** What the Lambdas write to stdout/stderr (Powertools Logger and EMF lines) while capturing. */
class LogCapture {
  private readonly original = { out: process.stdout.write, err: process.stderr.write };
  private passthrough = false;
  readonly metricNames = new Set<string>();
  readonly dimensionSets = new Set<string>();
  readonly errors: string[] = [];

  private readonly meter: () => Meter;

  constructor(meter: () => Meter) {
    this.meter = meter;
  }

  start(): void {
    const capture = (stream: NodeJS.WriteStream, original: typeof process.stdout.write) =>
      ((chunk: unknown, ...rest: unknown[]) => {
        if (this.passthrough) return original.call(stream, chunk as string, ...(rest as []));
        this.record(typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8"));
        const callback = rest.find((r) => typeof r === "function") as (() => void) | undefined;
        callback?.();
        return true;
      }) as typeof process.stdout.write;
    process.stdout.write = capture(process.stdout, this.original.out);
    process.stderr.write = capture(process.stderr, this.original.err);
  }

  stop(): void {
    process.stdout.write = this.original.out;
    process.stderr.write = this.original.err;
  }

  /** Runs `write` with the real stdout (the bench's own output is not Lambda log). */
  unCaptured(write: () => void): void {
    this.passthrough = true;
    try {
      write();
    } finally {
      this.passthrough = false;
    }
  }

  private record(text: string): void {
    const m = this.meter();
    for (const line of text.split("\n")) {
      if (line.length === 0) continue;
      m.functionLogBytes += utf8(line);
      m.functionLogEvents++;
      if (line.startsWith('{"_aws"')) {
        m.emfLines++;
        try {
          const emf = JSON.parse(line) as {
            _aws: { CloudWatchMetrics: { Dimensions: string[][]; Metrics: { Name: string }[] }[] };
          };
          for (const directive of emf._aws.CloudWatchMetrics) {
            for (const metric of directive.Metrics) this.metricNames.add(metric.Name);
            for (const dims of directive.Dimensions) this.dimensionSets.add(JSON.stringify([...dims].sort()));
          }
        } catch {
          // not EMF after all
        }
      } else if (/"level":"(ERROR|CRITICAL)"/.test(line) && this.errors.length < 5) {
        this.errors.push(line.slice(0, 400));
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// The destination

/** A local HTTP destination: counts 2xx deliveries per workload; `/w/<workload>/retry/<i>` fails its first attempt. */
class Sink {
  private readonly server: http.Server;
  private readonly delivered = new Map<string, number>();
  private readonly failedOnce = new Set<string>();

  constructor() {
    this.server = http.createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        const path = req.url ?? "/";
        const workload = /^\/w\/([^/]+)\//.exec(path)?.[1] ?? "other";
        if (path.includes("/retry/") && !this.failedOnce.has(path)) {
          this.failedOnce.add(path);
          res.writeHead(500).end("try again");
          return;
        }
        this.delivered.set(workload, (this.delivered.get(workload) ?? 0) + 1);
        res.writeHead(200, { "Content-Type": "text/plain" }).end("ok");
      });
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  count(workload: string): number {
    return this.delivered.get(workload) ?? 0;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

// ---------------------------------------------------------------------------------------------------------
// The stack: memory sizes, retention, and what bills while idle

interface StackFacts {
  memoryMb: Record<Fn, number>;
  retentionDays: number;
  logRetentionDays: number;
  idle: IdleItem[];
  customMetrics: string[];
}

type CfnResource = { Type: string; Properties?: Record<string, unknown> };

/** Synthesizes HeraldStack in process with bundling skipped (as test/cdk does) and reads what the bench needs. */
async function readStack(): Promise<{
  memoryMb: Record<Fn, number>;
  retentionDays: number;
  logRetentionDays: number;
  resources: Record<string, CfnResource>;
}> {
  const { App } = await import("aws-cdk-lib");
  const { Template } = await import("aws-cdk-lib/assertions");
  const { HeraldStack } = await import("../lib/herald-stack.ts");
  const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
  const stack = new HeraldStack(app, "HeraldCost", { env: { account: "123456789012", region: "us-east-1" } });
  const resources = (Template.fromStack(stack).toJSON() as { Resources: Record<string, CfnResource> }).Resources;
  const fnProps = (fn: { node: { defaultChild?: unknown } }): Record<string, unknown> => {
    const id = stack.getLogicalId(fn.node.defaultChild as Parameters<typeof stack.getLogicalId>[0]);
    return resources[id]?.Properties ?? {};
  };
  const api = fnProps(stack.herald.api.function);
  const deliver = fnProps(stack.herald.delivery.function);
  const env = (deliver.Environment as { Variables?: Record<string, string> } | undefined)?.Variables ?? {};
  const retention = /^(\d+)s$/.exec(env.HERALD_RETENTION ?? "")?.[1];
  const logGroups = Object.values(resources).filter((r) => r.Type === "AWS::Logs::LogGroup");
  const logRetention = Math.max(...logGroups.map((r) => Number(r.Properties?.RetentionInDays ?? 0)), 0);
  // Lambda's platform records (start, report) are INFO: a system log level of WARN or above drops them.
  const systemLevel = (fn: Record<string, unknown>) =>
    (fn.LoggingConfig as { SystemLogLevel?: string } | undefined)?.SystemLogLevel ?? "INFO";
  platformLogged = [api, deliver].some((fn) => ["DEBUG", "INFO"].includes(systemLevel(fn)));
  return {
    memoryMb: { api: Number(api.MemorySize ?? 128), deliver: Number(deliver.MemorySize ?? 128) },
    retentionDays: retention ? Number(retention) / 86_400 : 7,
    logRetentionDays: logRetention || 3653,
    resources,
  };
}

/** Metric names the handlers emit, read from their source: `addMetric("X"`, `counts.set("X"`, and `key: "X"` map entries. */
function metricNamesInCode(): string[] {
  const dir = join(dirname(fileURLToPath(import.meta.url)), "../lambdas/handlers");
  const names = new Set<string>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".ts"))) {
    const source = readFileSync(join(dir, file), "utf8");
    if (!source.includes("addMetric")) continue;
    for (const match of source.matchAll(/(?:addMetric\(\s*|counts\.set\(\s*|^\s*\w+:\s*)"([A-Z]\w*)"/gm)) {
      names.add(match[1] as string);
    }
  }
  return [...names];
}

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
interface FiringCost {
  usd: number;
  detail: string;
  /** DynamoDB requests of one firing: DynamoDB Local may report less capacity than AWS bills for them. */
  dynamoRequests: number;
}

/** Firings a month of a recurring Scheduler expression: `rate(n minutes|hours)` or `cron(0/n * * * ? *)`. */
function firingsPerMonth(expression: string): number {
  const minutes = DAYS_PER_MONTH * 24 * 60;
  const rate = /^rate\((\d+) (minute|hour)s?\)$/.exec(expression);
  if (rate) return minutes / (Number(rate[1]) * (rate[2] === "hour" ? 60 : 1));
  const everyMinutes = /^cron\(0\/(\d+) \* \* \* \? \*\)$/.exec(expression);
  if (everyMinutes) return minutes / Number(everyMinutes[1]);
  throw new Error(`aws-cost: no firing count for the schedule expression ${expression}`);
}

function idleItems(
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

// ---------------------------------------------------------------------------------------------------------
// Storage: what the table holds, sized as DynamoDB bills it

function numberSize(n: string): number {
  const digits = n.replace(/^-/, "").replace(/e.*$/i, "").replace(".", "").replace(/^0+/, "").replace(/0+$/, "");
  return Math.ceil(Math.max(1, digits.length) / 2) + 1;
}

function attributeSize(v: AttributeValue): number {
  if (v.S !== undefined) return utf8(v.S);
  if (v.N !== undefined) return numberSize(v.N);
  if (v.B !== undefined) return v.B.byteLength;
  if (v.BOOL !== undefined || v.NULL !== undefined) return 1;
  if (v.SS) return v.SS.reduce((n, s) => n + utf8(s), 0);
  if (v.NS) return v.NS.reduce((n, s) => n + numberSize(s), 0);
  if (v.BS) return v.BS.reduce((n, b) => n + b.byteLength, 0);
  if (v.L) return 3 + v.L.reduce((n, e) => n + 1 + attributeSize(e), 0);
  if (v.M) return 3 + Object.entries(v.M).reduce((n, [k, e]) => n + utf8(k) + 1 + attributeSize(e), 0);
  return 0;
}

/** Bytes the table bills for: each item plus 100 B, again for each GSI it is in (projection ALL). */
async function tableBytes(client: DynamoDBClient, tableName: string): Promise<number> {
  let total = 0;
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: start }));
    for (const item of page.Items ?? []) {
      const size = Object.entries(item).reduce((n, [k, v]) => n + utf8(k) + attributeSize(v), 0);
      total += size + 100;
      for (const gsi of [GSI_LISTS]) {
        if (item[gsi.partitionKey] && item[gsi.sortKey]) total += size + 100;
      }
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return total;
}

// ---------------------------------------------------------------------------------------------------------
// Pricing a meter

function lambdaDollars(m: Meter, facts: StackFacts, atAwsLatency: boolean): number {
  return (["api", "deliver"] as const).reduce((sum, fn) => {
    const l = m.lambda[fn];
    const gbSeconds = ((atAwsLatency ? l.billedMsAtAws : l.billedMs) / 1000) * (facts.memoryMb[fn] / 1024);
    return (
      sum + (l.invocations * PRICES.lambdaPerMillionRequests.usd) / 1e6 + gbSeconds * PRICES.lambdaArmPerGbSecond.usd
    );
  }, 0);
}

function dollars(m: Meter, facts: StackFacts, storedBytes: number): ServiceDollars & { storageGbMonths: number } {
  const lambda = lambdaDollars(m, facts, false);
  const storageGbMonths = (Math.max(0, storedBytes) / GIB) * (facts.retentionDays / DAYS_PER_MONTH);
  const logBytes = billedLogBytes(m);
  return {
    api_gateway: (m.apiMetered * PRICES.apiGatewayHttpPerMillion.usd) / 1e6,
    lambda,
    sqs: (m.sqsBilled * PRICES.sqsStandardPerMillion.usd + m.sqsBilledFifo * PRICES.sqsFifoPerMillion.usd) / 1e6,
    dynamodb:
      (m.writeUnits * PRICES.dynamoWriteRequestUnitPerMillion.usd +
        m.readUnits * PRICES.dynamoReadRequestUnitPerMillion.usd) /
        1e6 +
      storageGbMonths * (PRICES.dynamoStoragePerGbMonth.usd + PRICES.dynamoPitrPerGbMonth.usd),
    scheduler: (m.schedulerInvocations * PRICES.schedulerPerMillionInvocations.usd) / 1e6,
    s3:
      (m.s3Put * PRICES.s3PutPerThousand.usd) / 1000 +
      (m.s3Get * PRICES.s3GetPerThousand.usd) / 1000 +
      // Bodies in S3 live until the bucket's lifecycle rule (retention + 400 days): an upper bound.
      (m.s3PutBytes / GIB) * ((facts.retentionDays + 400) / DAYS_PER_MONTH) * PRICES.s3StoragePerGbMonth.usd,
    secrets_manager: (sum(m.secretsCalls) * PRICES.secretsPerTenThousandCalls.usd) / 1e4,
    cloudwatch_logs:
      (logBytes / GIB) *
      (PRICES.logsIngestionPerGb.usd + PRICES.logsStoragePerGbMonth.usd * (facts.logRetentionDays / DAYS_PER_MONTH)),
    storageGbMonths,
  };
}

function dollarsTotal(d: ServiceDollars): number {
  return d.api_gateway + d.lambda + d.sqs + d.dynamodb + d.scheduler + d.s3 + d.secrets_manager + d.cloudwatch_logs;
}

const dynamoRequestsOf = (m: Meter): number =>
  [...m.requests].filter(([key]) => key.startsWith("DynamoDB ")).reduce((n, [, v]) => n + v, 0);

/** One measured firing's billable counts, for the idle item's note. */
function sweepDetail(m: Meter, facts: StackFacts): string {
  const l = m.lambda.deliver;
  const dynamoRequests = dynamoRequestsOf(m);
  return (
    `${m.schedulerInvocations} Scheduler invocation, ${m.sqsBilled} SQS requests, ${l.invocations} delivery ` +
    `invocation(s) of ${l.billedMs} ms at ${facts.memoryMb.deliver} MB, ${dynamoRequests} DynamoDB queries ` +
    `(${round(m.readUnits, 1)} read units as DynamoDB Local reports them), ` +
    `${billedLogBytes(m)} log bytes; each queue and each flow-control key with a free slot adds about one query`
  );
}

const PLATFORM_LOG_BYTES = LAMBDA_PLATFORM_LOG_LINES.reduce((n, line) => n + utf8(line), 0);
/** Whether the stack's Lambdas log their platform records (read from the template by readStack). */
let platformLogged = true;

function invocations(m: Meter): number {
  return m.lambda.api.invocations + m.lambda.deliver.invocations;
}

function billedLogBytes(m: Meter): number {
  const platform = platformLogged ? invocations(m) : 0;
  const events = m.functionLogEvents + platform * LAMBDA_PLATFORM_LOG_LINES.length + m.apiRequests;
  return m.functionLogBytes + platform * PLATFORM_LOG_BYTES + m.accessLogBytes + events * LOG_EVENT_OVERHEAD_BYTES;
}

const sum = (map: Map<string, number>): number => [...map.values()].reduce((a, b) => a + b, 0);
const round = (n: number, digits = 4): number => Number(n.toFixed(digits));

function summarize(
  description: string,
  m: Meter,
  facts: StackFacts,
  published: number,
  delivered: number,
  storedBytes: number,
  wallMs: number,
): WorkloadResult {
  const d = dollars(m, facts, storedBytes);
  const perMillion = (usd: number) => round((usd / Math.max(1, delivered)) * 1e6);
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
  const lambdaOf = (fn: Fn) => ({
    invocations: m.lambda[fn].invocations,
    billed_ms: m.lambda[fn].billedMs,
    gb_seconds: round((m.lambda[fn].billedMs / 1000) * (facts.memoryMb[fn] / 1024), 3),
    avg_ms: round(m.lambda[fn].rawMs / Math.max(1, m.lambda[fn].invocations), 2),
    avg_ms_at_aws_latency: round(m.lambda[fn].billedMsAtAws / Math.max(1, m.lambda[fn].invocations), 2),
  });
  const per = (n: number) => round(n / Math.max(1, delivered), 3);
  const logBytes = billedLogBytes(m);
  return {
    description,
    published,
    delivered,
    wall_ms: Math.round(wallMs),
    per_million: {
      ...services,
      total: perMillion(totalUsd),
      lambda_at_aws_latency: perMillion(lambdaAtAws),
      total_at_aws_latency: perMillion(totalUsd - d.lambda + lambdaAtAws),
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
        platform_bytes: (platformLogged ? invocations(m) : 0) * PLATFORM_LOG_BYTES,
        access_log_bytes: m.accessLogBytes,
        billed_bytes: logBytes,
        emf_lines: m.emfLines,
      },
    },
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

// ---------------------------------------------------------------------------------------------------------
// The run

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A 1 KB JSON body (exactly 1024 bytes). */
function jsonBody(i: number): string {
  const head = JSON.stringify({ id: i, payload: "" });
  return JSON.stringify({ id: i, payload: "x".repeat(1024 - utf8(head)) });
}

async function pool<T>(items: T[], concurrency: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await run(items[next++] as T);
    }),
  );
}

export async function runAwsCostBench(options: {
  quick: boolean;
  log?: (line: string) => void;
}): Promise<AwsCostResult> {
  const started = performance.now();
  const quick = options.quick;
  // Quick mode keeps the run under ~40 s: the per-message counts are the same at any size; what a small
  // run loses is precision on batching and duration.
  const counts: Record<WorkloadName, number> = quick
    ? { single: 40, single_lean: 40, batch100: 100, delay2h: 15, fifo: 15, fanout3: 15, retry1: 15 }
    : { single: 1000, single_lean: 1000, batch100: 1000, delay2h: 500, fifo: 300, fanout3: 300, retry1: 500 };
  const notes: string[] = [];

  let current = new Meter();
  const meter = () => current;
  const capture = new LogCapture(meter);
  const say = (line: string) => capture.unCaptured(() => (options.log ?? console.log)(line));

  // What the stack configures (INFO logs, metrics on); the handlers read these when first imported.
  const envBefore = { ...process.env };
  Object.assign(process.env, {
    POWERTOOLS_METRICS_DISABLED: "false",
    POWERTOOLS_LOG_LEVEL: "INFO",
    POWERTOOLS_SERVICE_NAME: "herald",
    POWERTOOLS_METRICS_NAMESPACE: "Herald",
  });

  const dataDir = mkdtempSync(join(tmpdir(), "herald-aws-cost-"));
  const sink = new Sink();
  const sinkUrl = await sink.start();
  // The process clock, movable (delay2h): installed before anything is built, so that code that keeps a
  // reference to Date.now (SqsDispatcher's default `now`) gets this one too.
  const realNow = Date.now;
  let offset = 0;
  Date.now = () => realNow() + offset;
  let starting: Promise<AwsLocalHerald> | undefined;
  const inspect: { dynamo?: DynamoDBClient; sqs?: SQSClient } = {};
  try {
    starting = startAwsLocal({
      port: 0,
      dataDir,
      env: { HERALD_TOKEN: "bench-token-0123456789abcdef" },
      instrument: (client, owner) =>
        (client as unknown as Instrumentable).middlewareStack.add(countingMiddleware(meter, owner), {
          step: "initialize",
          name: "heraldCostBench",
        }),
      onStandInRequest: (service, operation) => {
        current.count(operation, service === "Scheduler" ? current.schedulerCalls : current.secretsCalls);
        recordWait(service, performance.now(), performance.now()); // answered in process: no emulator wait
      },
      onInvoke: (fn, ms, invocation) => {
        const l = current.lambda[fn];
        l.invocations++;
        l.billedMs += Math.max(1, Math.ceil(ms));
        l.rawMs += ms;
        l.billedMsAtAws += Math.ceil(msAtAwsLatency(invocation, ms));
      },
    });
    starting.catch(() => undefined); // awaited below; the synth runs meanwhile
    const stackRead = await readStack();
    const h = await starting;
    const { logger } = await import("../lambdas/handlers/observability.ts");
    logger.setLogLevel("INFO");
    const { dynamodbEndpoint, sqsEndpoint, tableName, queueUrl } = h.emulators;
    const common = { region: EMULATOR_REGION, credentials: EMULATOR_CREDENTIALS };
    const dynamo = new DynamoDBClient({ ...common, endpoint: dynamodbEndpoint });
    const sqs = new SQSClient({ ...common, endpoint: sqsEndpoint });
    Object.assign(inspect, { dynamo, sqs });

    const call = async (method: string, path: string, body = "", headers: Record<string, string> = {}) => {
      const response = await fetch(`${h.url}${path}`, {
        method,
        headers: { Authorization: `Bearer ${h.token}`, ...headers },
        ...(body ? { body } : {}),
      });
      const text = await response.text();
      if (response.status >= 300) throw new Error(`${method} ${path} -> ${response.status} ${text}`);
      const m = current;
      m.apiRequests++;
      m.apiMetered += Math.max(1, Math.ceil(utf8(body) / API_GATEWAY_HTTP_METERING_BYTES));
      const s = ACCESS_LOG_SAMPLE;
      m.accessLogBytes += utf8(
        `${s.sourceIp} - - [${s.requestTime}] "${method} ${s.resourcePath} ${s.protocol}" ${response.status} ` +
          `${utf8(text)} ${s.requestId}`,
      );
      return text;
    };
    const json = { "Content-Type": "application/json" };
    const url = (workload: string, kind: string, i: number) => `${sinkUrl}/w/${workload}/${kind}/${i}`;

    const queueDepth = async (): Promise<{ visible: number; inFlight: number; delayed: number }> => {
      const { Attributes: a = {} } = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: queueUrl,
          AttributeNames: [
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
          ],
        }),
      );
      return {
        visible: Number(a.ApproximateNumberOfMessages ?? 0),
        inFlight: Number(a.ApproximateNumberOfMessagesNotVisible ?? 0),
        delayed: Number(a.ApproximateNumberOfMessagesDelayed ?? 0),
      };
    };
    /** Waits until `done` holds on two looks 200 ms apart (the queue settled), or fails after `timeoutMs`. */
    const settle = async (what: () => string, done: () => Promise<boolean>, timeoutMs: number) => {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        if (await done()) {
          await sleep(200);
          if (await done()) return;
        }
        if (performance.now() > deadline) {
          const errors = capture.errors.length > 0 ? `; Herald logged: ${capture.errors.join("\n")}` : "";
          throw new Error(
            `aws-cost: timed out waiting for ${what()}; queue ${JSON.stringify(await queueDepth())}${errors}`,
          );
        }
        await sleep(50);
      }
    };
    const drained = (workload: string, expected: number, timeoutMs: number) =>
      settle(
        () => `${expected} deliveries of ${workload} (got ${sink.count(workload)})`,
        async () => {
          if (sink.count(workload) < expected) return false;
          const q = await queueDepth();
          return q.visible + q.inFlight + q.delayed === 0;
        },
        timeoutMs,
      );
    const timeout = quick ? 20_000 : 180_000;

    // Warm-up and setup, not counted: cold starts (secret generation, first connections), the URL group, the queue.
    say(`aws-cost: emulated AWS up in ${Math.round(performance.now() - started)} ms; warming up`);
    capture.start();
    await pool([0, 1, 2, 3, 4], 5, async (i) => {
      await call("POST", `/v2/publish/${url("warmup", "ok", i)}`, jsonBody(i), json);
    });
    await drained("warmup", 5, 30_000);
    if (current.emfLines === 0) {
      notes.push(
        "No EMF line was seen in the warm-up: Powertools metrics were off (the handlers were imported before this " +
          "bench set POWERTOOLS_METRICS_DISABLED=false), so EMF bytes are missing from the log figures.",
      );
    }
    await call(
      "POST",
      "/v2/topics/bench-fanout/endpoints",
      JSON.stringify({ endpoints: ["a", "b", "c"].map((e) => ({ url: `${sinkUrl}/w/fanout3/${e}/0` })) }),
      json,
    );
    await call("POST", "/v2/queues", JSON.stringify({ queueName: "bench-queue", parallelism: 1 }), json);

    const facts: StackFacts = { ...stackRead, idle: [], customMetrics: [] };
    const workloads = {} as Record<WorkloadName, WorkloadResult>;
    const concurrency = 4;
    const range = (count: number) => Array.from({ length: count }, (_, i) => i);

    const measure = async (
      name: WorkloadName,
      description: string,
      expectedDeliveries: number,
      run: () => Promise<number>,
    ) => {
      const before = await tableBytes(dynamo, tableName);
      const m = new Meter();
      current = m;
      const t0 = performance.now();
      const published = await run();
      await drained(name, expectedDeliveries, timeout);
      const wall = performance.now() - t0;
      current = new Meter(); // traffic between workloads (idle polling) goes nowhere
      const stored = (await tableBytes(dynamo, tableName)) - before;
      workloads[name] = summarize(description, m, facts, published, sink.count(name), stored, wall);
      const w = workloads[name];
      say(
        `aws-cost: ${name.padEnd(11)} ${String(w.delivered).padStart(5)} delivered in ${w.wall_ms} ms: ` +
          `$${w.per_million.total.toFixed(2)} per million ($${w.per_million.total_at_aws_latency.toFixed(2)} at AWS latency)`,
      );
    };

    // A Lambda invocation has its CPU to itself; here every invocation shares one process. So publishes whose
    // deliveries need nothing from them are measured on their own, one at a time (their billed time is not
    // inflated by deliveries running beside them), and the backlog is then drained in full batches — what
    // the event source mapping takes from a queue under steady load.
    const apart = async (run: () => Promise<number>): Promise<number> => {
      await h.deliveries.pause();
      try {
        return await run();
      } finally {
        h.deliveries.resume();
      }
    };

    // The default, then the opt-in lean mode (README, "Message records on AWS"): the same publishes, carried
    // in their jobs; the emulated stack is redeployed with the other setting for it.
    for (const [name, records, description] of [
      ["single", "full", "1 KB JSON published alone, delivered first try"],
      ["single_lean", "lean", "as single, with messageRecords: lean (no record)"],
    ] as const) {
      if (records === "lean") h.redeploy({ HERALD_MESSAGE_RECORDS: records });
      await measure(name, description, counts[name], () =>
        apart(async () => {
          await pool(range(counts[name]), 1, async (i) => {
            await call("POST", `/v2/publish/${url(name, "ok", i)}`, jsonBody(i), json);
          });
          return counts[name];
        }),
      );
    }
    h.redeploy({ HERALD_MESSAGE_RECORDS: "full" });

    await measure("batch100", "1 KB JSON bodies published 100 per /v2/batch call", counts.batch100, () =>
      apart(async () => {
        for (let start = 0; start < counts.batch100; start += 100) {
          const entries = range(Math.min(100, counts.batch100 - start)).map((k) => ({
            destination: url("batch100", "ok", start + k),
            headers: { "content-type": "application/json" },
            body: jsonBody(start + k),
          }));
          await call("POST", "/v2/batch", JSON.stringify(entries), json);
        }
        return counts.batch100;
      }),
    );

    await measure("fanout3", "1 KB JSON published to a URL group of 3 endpoints", counts.fanout3 * 3, () =>
      apart(async () => {
        await pool(range(counts.fanout3), 1, async (i) => {
          await call("POST", "/v2/publish/bench-fanout", jsonBody(i), json);
        });
        return counts.fanout3;
      }),
    );

    await measure("fifo", "1 KB JSON enqueued to a queue (parallelism 1)", counts.fifo, async () => {
      await pool(range(counts.fifo), concurrency, async (i) => {
        await call("POST", `/v2/enqueue/bench-queue/${url("fifo", "ok", i)}`, jsonBody(i), json);
      });
      return counts.fifo;
    });

    await measure(
      "retry1",
      "1 KB JSON whose first attempt gets a 500, retried once after 1 s, then 200",
      counts.retry1,
      async () => {
        await pool(range(counts.retry1), concurrency, async (i) => {
          await call("POST", `/v2/publish/${url("retry1", "retry", i)}`, jsonBody(i), {
            ...json,
            "Upstash-Retries": "1",
            "Upstash-Retry-Delay": "1000",
          });
        });
        return counts.retry1;
      },
    );

    // Last: it moves the clock forward two hours (everything in this process, fauxqs included, reads Date.now).
    await measure(
      "delay2h",
      "1 KB JSON with Upstash-Delay: 2h (Scheduler fires a minute early, SQS DelaySeconds does the rest)",
      counts.delay2h,
      async () => {
        await pool(range(counts.delay2h), concurrency, async (i) => {
          await call("POST", `/v2/publish/${url("delay2h", "ok", i)}`, jsonBody(i), { ...json, "Upstash-Delay": "2h" });
        });
        const publishedBy = Date.now();
        const twoHours = 2 * 3_600_000;
        // 1. Jump to a second past the latest one-time schedule (due minus 60 s) and fire what is due, as
        //    Scheduler would; the delivery handler finds each job a minute early and sends it on with DelaySeconds.
        offset = publishedBy + twoHours - 59_000 - realNow();
        await h.runDueSchedules(Date.now());
        await settle(
          () => "the early jobs to be sent on",
          async () => {
            const q = await queueDepth();
            return q.visible + q.inFlight === 0 && q.delayed >= counts.delay2h;
          },
          timeout,
        );
        // 2. Jump past the due times: the delayed jobs become visible and are delivered.
        offset = publishedBy + twoHours + 5_000 - realNow();
        return counts.delay2h;
      },
    );

    // The recurring sweep (lambdas/core/sweep.ts) runs in an idle deployment too: one firing of its schedule,
    // measured like a workload (the deployment holds the bench's queue: one more head read than an empty one).
    const sweepMeter = new Meter();
    current = sweepMeter;
    await h.runDueSchedules(Date.now() + 5 * 60_000);
    await settle(
      () => "the sweep's firing",
      async () => {
        if (sweepMeter.lambda.deliver.invocations === 0) return false;
        const q = await queueDepth();
        return q.visible + q.inFlight + q.delayed === 0;
      },
      timeout,
    );
    current = new Meter();
    if (sweepMeter.emfLines > 0)
      notes.push("The sweep's invocation wrote EMF metrics: an idle deployment would pay for them.");

    capture.stop();
    facts.customMetrics = [...new Set([...metricNamesInCode(), ...capture.metricNames])].sort();
    facts.idle = idleItems(stackRead.resources, facts.customMetrics, capture.dimensionSets.size, {
      usd: dollarsTotal(dollars(sweepMeter, facts, 0)),
      detail: sweepDetail(sweepMeter, facts),
      dynamoRequests: dynamoRequestsOf(sweepMeter),
    });
    if (capture.errors.length > 0) notes.push(`Herald logged errors during the run, e.g. ${capture.errors[0]}`);
    for (const [name, w] of Object.entries(workloads)) {
      if (w.counts.lambda.api.invocations !== w.counts.api_gateway.requests) {
        notes.push(
          `${name}: ${w.counts.lambda.api.invocations} API invocations for ${w.counts.api_gateway.requests} requests`,
        );
      }
    }

    const idle = round(
      facts.idle.reduce((total, item) => total + item.monthly_usd, 0),
      2,
    );
    const costPerMillion = Object.fromEntries(
      WORKLOADS.map((name) => [name, round(workloads[name].per_million.total, 3)]),
    ) as Record<WorkloadName, number>;
    const costAtAws = Object.fromEntries(
      WORKLOADS.map((name) => [name, round(workloads[name].per_million.total_at_aws_latency, 3)]),
    ) as Record<WorkloadName, number>;
    const qstash = (PRICES.qstashPerHundredThousand.usd * 1e6) / 1e5;
    notes.push(...standingNotes(facts));
    return {
      prices_date: PRICES_DATE,
      quick,
      messages_per_workload: counts,
      cost_per_million: costPerMillion,
      cost_per_million_at_aws_latency: costAtAws,
      qstash_per_million: qstash,
      idle_per_month: idle,
      idle_per_month_with_dashboard: idle,
      idle_per_month_without_dashboard: round(
        idle -
          ((facts.idle.find((item) => item.item === "CloudWatch dashboards")?.quantity ?? 0) > 0
            ? PRICES.dashboardPerMonth.usd
            : 0),
        2,
      ),
      idle_items: facts.idle.map((item) => ({
        ...item,
        unit_usd: round(item.unit_usd, 8),
        monthly_usd: round(item.monthly_usd, 3),
      })),
      targets: {
        single_first_try: target(2.5, costPerMillion.single, costAtAws.single),
        batch100: target(1.0, costPerMillion.batch100, costAtAws.batch100),
        // With the dashboard, which the stack now has by default (issue "Herald on real AWS"; the target is
        // the cost issue's: at most $5 a month).
        idle_per_month: { target: 5.0, actual: idle, met: idle <= 5.0 },
      },
      stack: {
        lambda_memory_mb: facts.memoryMb,
        retention_days: facts.retentionDays,
        log_retention_days: facts.logRetentionDays,
        custom_metrics: facts.customMetrics,
      },
      workloads,
      duration_ms: Math.round(performance.now() - started),
      notes,
    };
  } finally {
    capture.stop();
    offset = 0; // anything that kept the movable clock reads real time from now on
    Date.now = realNow;
    inspect.dynamo?.destroy();
    inspect.sqs?.destroy();
    await (await starting?.catch(() => undefined))?.close();
    await sink.close();
    rmSync(dataDir, { recursive: true, force: true });
    for (const key of Object.keys(process.env)) if (!(key in envBefore)) delete process.env[key];
    Object.assign(process.env, envBefore);
  }
}

const target = (goal: number, actual: number, atAws: number): Target => ({
  target: goal,
  actual,
  met: actual <= goal,
  actual_at_aws_latency: atAws,
  met_at_aws_latency: atAws <= goal,
});

function standingNotes(facts: StackFacts): string[] {
  return [
    "All prices are us-east-1 list prices WITHOUT free tiers (bench/prices-us-east-1.ts has each source).",
    "Measured on emulated AWS in one process: the real API and delivery handlers and AWS adapters on DynamoDB " +
      "Local and fauxqs; Scheduler and Secrets Manager are stand-ins whose calls are counted. Requests, consumed " +
      "capacity (DynamoDB Local's ReturnConsumedCapacity, incl. GSIs), SQS payloads, invocations and log lines are " +
      "counted, not modelled.",
    `Lambda duration is each handler's measured wall time rounded up to 1 ms, at the stack's memory ` +
      `(api ${facts.memoryMb.api} MB, deliver ${facts.memoryMb.deliver} MB, arm64). It includes DynamoDB Local/fauxqs ` +
      "latency and this machine's CPU, shared by concurrent invocations in one process, not Lambda's; cold starts " +
      "(and INIT billing) are excluded by a warm-up.",
    "Delivery batches are what the emulated poller (4 loops, up to 10 per receive) formed at this load; on AWS the " +
      "event source mapping batches similarly under load. Its empty receives are excluded per message (they are the " +
      "idle polling cost, itemized in idle_items).",
    "SQS: every request the queue sees is billed to its owner (Herald's sends, the event source mapping's " +
      "receives/deletes, Scheduler's sends), one per started 64 KB of payload. Scheduler bills its invocations.",
    `DynamoDB storage: the table's net growth during a workload (items + 100 B, per table and GSI entry), kept for ` +
      `the retention (${facts.retentionDays} days) at storage + PITR prices. Logs: captured stdout/stderr of the ` +
      `handlers (Powertools JSON + EMF), plus ${PLATFORM_LOG_BYTES} B of platform.start/report per invocation, one ` +
      `API access-log line per request and ${LOG_EVENT_OVERHEAD_BYTES} B per event, ingested and stored ` +
      `${facts.logRetentionDays} days.`,
    "delay2h: published with Upstash-Delay: 2h, then the process clock (Date.now, which Herald, the stand-in " +
      "Scheduler and fauxqs all read) jumps to a second past each schedule's at() time and runDueSchedules fires the " +
      "one-time schedules; the delivery handler finds the jobs ~59 s early and sends them on with DelaySeconds (as " +
      "on AWS); the clock then jumps past the due times and they are delivered.",
    "fifo is /v2/enqueue to a queue with parallelism 1: Herald orders queues in DynamoDB on the standard SQS queue " +
      "(no SQS FIFO queue exists in the stack). fanout3 counts 3 deliveries per publish; retry1 counts 1 delivered " +
      "message per 2 attempts.",
  ];
}

// ---------------------------------------------------------------------------------------------------------
// Standalone

function table(result: AwsCostResult): string {
  const lines: string[] = [];
  const cols = ["total", "@aws", "api_gw", "lambda", "λ@aws", "sqs", "dynamodb", "sched", "s3", "secrets", "logs"];
  lines.push(
    `AWS cost per million delivered messages, us-east-1 list prices of ${result.prices_date}, no free tiers` +
      (result.quick ? " (quick run)" : ""),
  );
  lines.push("(@aws, λ@aws: Lambda billed with the emulators' waits replaced by assumed AWS latency)");
  lines.push(
    [
      "workload".padEnd(12),
      "deliv".padStart(5),
      ...cols.map((c) => c.padStart(7)),
      "WRU/m",
      "RRU/m",
      "SQS/m",
      "λ/m",
    ].join(" "),
  );
  for (const name of WORKLOADS) {
    const w = result.workloads[name];
    const p = w.per_million;
    const values = [
      p.total,
      p.total_at_aws_latency,
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
        name.padEnd(12),
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
  const both = (x: Target) => `${mark(x.met)}; at AWS latency ${mark(x.met_at_aws_latency)}`;
  lines.push(
    `Targets: single <= $${t.single_first_try.target} (${both(t.single_first_try)}), batch100 <= ` +
      `$${t.batch100.target} (${both(t.batch100)}), idle <= $${t.idle_per_month.target}/month ` +
      `(${mark(t.idle_per_month.met)})`,
  );
  return lines.join("\n");
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await runAwsCostBench({ quick: process.argv.includes("--quick") });
  console.log(table(result));
  console.log("");
  console.log(JSON.stringify(result, null, 2));
}
