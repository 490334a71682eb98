// The fault-injection run (bench/faults.ts, and a small one in test/e2e/fault-injection.e2e.test.ts).
import http from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAwsLocal } from "../../emulation/emulated-aws-server.ts";
import { partitionedStatusKey } from "../../lambdas/adapters/aws/status-partitions.ts";

/** Faults as AWS answers them: the SDK's retry strategy tells them apart by name and status. */
const FAULT_KINDS = ["throttle", "500", "503", "timeoutAfter"] as const;
type FaultKind = (typeof FAULT_KINDS)[number];

function awsError(kind: FaultKind, service: string): Error {
  const shapes: Record<FaultKind, { name: string; status: number; fault: "client" | "server" }> = {
    // DynamoDB throttles with its own name (its ThrottlingException is for control-plane calls).
    throttle: {
      name: service === "DynamoDB" ? "ProvisionedThroughputExceededException" : "ThrottlingException",
      status: 400,
      fault: "client",
    },
    "500": { name: "InternalServerError", status: 500, fault: "server" },
    "503": { name: "ServiceUnavailable", status: 503, fault: "server" },
    // The request was carried out, but its answer never came: the caller cannot tell it from a lost one.
    timeoutAfter: { name: "TimeoutError", status: 0, fault: "client" },
  };
  const shape = shapes[kind];
  return Object.assign(new Error(`injected ${kind} on ${service}`), {
    name: shape.name,
    $fault: shape.fault,
    $metadata: shape.status ? { httpStatusCode: shape.status } : {},
  });
}

/** A small seeded PRNG (mulberry32): the same seed injects the same sequence of faults. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Handler = (args: { input: unknown }) => Promise<unknown>;
interface Instrumentable {
  middlewareStack: {
    add(
      middleware: (next: Handler, context: { clientName?: string; commandName?: string }) => Handler,
      options: { step: "deserialize"; name: string },
    ): void;
  };
}
const SERVICE_OF: Record<string, string> = {
  SchedulerClient: "Scheduler",
  DynamoDBClient: "DynamoDB",
  SQSClient: "SQS",
  S3Client: "S3",
};

export interface FaultRunOptions {
  /** Share of AWS calls that fail (each attempt of the SDK's retries is one call). */
  rate: number;
  /** 1: 2,000 messages (and 100 callbacks); smaller for a quick run. */
  scale: number;
  seed: number;
  log: (line: string) => void;
  /** How long to wait for every accepted message after the load, ms. */
  settleMs?: number;
}

export interface FaultRunResult {
  ok: boolean;
  rate: number;
  calls: Record<string, number>;
  injected: Record<string, number>;
  publishes: { sent: number; accepted: number; client_retries: number; refused_after_retries: number };
  messages: { expected: number; delivered: number; missing: number; duplicate_deliveries: number };
  callbacks: { expected: number; delivered: number };
  stuck: string[];
  long_waits: { accepted: number; held_pending: number };
  duration_s: number;
}

interface Publish {
  kind: string;
  /** The logical message: its body (fan-out: one body for three endpoints). */
  id: string;
  path: string;
  headers: Record<string, string>;
  /** Deliveries it must produce (3 for fan-out; 0 for a wait longer than the run, checked as held). */
  deliveries: number;
  callback?: boolean;
  /** The body, when not the id itself (large bodies: the id, then padding). */
  body?: string;
}

export async function runFaultInjection(options: FaultRunOptions): Promise<FaultRunResult> {
  const started = performance.now();
  const random = seeded(options.seed);
  const calls: Record<string, number> = {};
  const injected: Record<string, number> = {};
  const count = (map: Record<string, number>, key: string) => (map[key] = (map[key] ?? 0) + 1);
  let injecting = false;
  // `afterToo`: the call can fail after it was carried out (a stand-in's failure is injected before it).
  const maybeFault = (service: string, afterToo = true): FaultKind | undefined => {
    count(calls, service);
    if (!injecting || random() >= options.rate) return undefined;
    const kinds = afterToo ? FAULT_KINDS : FAULT_KINDS.filter((k) => k !== "timeoutAfter");
    const kind = kinds[Math.floor(random() * kinds.length)] as FaultKind;
    count(injected, `${service} ${kind}`);
    return kind;
  };

  // The destination: counts deliveries per logical message; /retry/ fails each message's first attempt.
  const seen = new Map<string, number>();
  const callbacks = new Set<string>();
  const sink = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString();
      const path = req.url ?? "";
      if (path.startsWith("/cb/")) {
        const source = JSON.parse(body) as { sourceBody?: string };
        callbacks.add(Buffer.from(source.sourceBody ?? "", "base64").toString());
        res.end("ok");
        return;
      }
      const key = `${path.startsWith("/fan/") ? path : ""}|${body.split("\n")[0]}`;
      const n = (seen.get(key) ?? 0) + 1;
      seen.set(key, n);
      res.statusCode = path.startsWith("/retry/") && n === 1 ? 500 : 200;
      res.end("ok");
    });
  });
  await new Promise<void>((done) => sink.listen(0, "127.0.0.1", done));
  const sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;

  process.env.POWERTOOLS_LOG_LEVEL ??= "CRITICAL"; // every injected fault would log a line
  const dataDir = mkdtempSync(join(tmpdir(), "herald-faults-"));
  const token = "faults-token-0123456789abcdef";
  const herald = await startAwsLocal({
    port: 0,
    dataDir,
    // A job whose invocation failed comes back after 5 s instead of the stack's 18 minutes.
    env: { HERALD_TOKEN: token, HERALD_AWS_LOCAL_VISIBILITY_TIMEOUT: "5s" },
    instrument: (client, owner) => {
      if (owner !== "lambda") return; // the event source mapping's own polling is AWS's, not Herald's
      // In the deserialize step: inside the SDK's retry loop, so its retries see the faults as AWS's.
      (client as unknown as Instrumentable).middlewareStack.add(
        (next, context) => async (args) => {
          const service = SERVICE_OF[context.clientName ?? ""] ?? context.clientName ?? "?";
          const kind = maybeFault(service);
          if (kind === undefined) return next(args);
          if (kind === "timeoutAfter") {
            await next(args);
            throw awsError(kind, service);
          }
          throw awsError(kind, service);
        },
        { step: "deserialize", name: "heraldFaults" },
      );
    },
    // The stand-ins have no SDK retries in front of them here: a fault reaches Herald at once.
    onStandInRequest: (service) => {
      const kind = maybeFault(service, false);
      if (kind !== undefined) throw awsError(kind, service);
    },
  });

  const api = (path: string, init: RequestInit & { headers?: Record<string, string> } = {}) =>
    fetch(`${herald.url}${path}`, { ...init, headers: { Authorization: `Bearer ${token}`, ...init.headers } });
  await api("/v2/topics/faults-group/endpoints", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ endpoints: ["a", "b", "c"].map((e) => ({ name: e, url: `${sinkUrl}/fan/${e}` })) }),
  });

  const n = (x: number) => Math.max(1, Math.round(x * options.scale));
  const plan: Publish[] = [];
  const add = (kind: string, total: number, make: (i: number) => Omit<Publish, "kind" | "id"> & { large?: true }) => {
    for (let i = 0; i < total; i++) {
      const { large, ...rest } = make(i);
      const id = `${kind}-${i}`;
      plan.push({ kind, id, ...rest, ...(large ? { body: `${id}\n${"x".repeat(150 * 1024)}` } : {}) });
    }
  };
  add("immediate", n(800), () => ({ path: `/v2/publish/${sinkUrl}/immediate/`, headers: {}, deliveries: 1 }));
  add("delayed", n(300), (i) => ({
    path: `/v2/publish/${sinkUrl}/delayed/`,
    headers: { "Upstash-Delay": `${2 + (i % 4)}s` },
    deliveries: 1,
  }));
  add("queued", n(300), (i) => ({
    path: `/v2/enqueue/faults-q${i % 3}/${sinkUrl}/queued/`,
    headers: {},
    deliveries: 1,
  }));
  add("fanout", n(100), () => ({ path: "/v2/publish/faults-group", headers: {}, deliveries: 3 }));
  add("retry", n(200), () => ({
    path: `/v2/publish/${sinkUrl}/retry/`,
    headers: { "Upstash-Retries": "3", "Upstash-Retry-Delay": "1000" },
    deliveries: 1,
  }));
  // Bodies over DynamoDB's inline limit go to S3.
  add("large", n(40), () => ({ path: `/v2/publish/${sinkUrl}/large/`, headers: {}, deliveries: 1, large: true }));
  // Waits longer than SQS's 15 minutes go through Scheduler (or, when it refuses, SQS hops): too long to
  // wait for here, so each is checked as held — readable and pending — at the end.
  add("long", n(40), () => ({
    path: `/v2/publish/${sinkUrl}/long/`,
    headers: { "Upstash-Delay": "30m" },
    deliveries: 0,
  }));
  add("callback", n(100), () => ({
    path: `/v2/publish/${sinkUrl}/with-callback/`,
    headers: { "Upstash-Callback": `${sinkUrl}/cb/` },
    deliveries: 1,
    callback: true,
  }));
  // Shuffled: every kind runs while every other does.
  for (let i = plan.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [plan[i], plan[j]] = [plan[j] as Publish, plan[i] as Publish];
  }

  // The client retries 5xx and network errors with the same deduplication id, as a careful producer does
  // (the SDK retries 5xx too): a publish cut off after it was stored is then published once.
  const accepted: Publish[] = [];
  const messageIds = new Map<string, string>();
  let clientRetries = 0;
  let refused = 0;
  /** The last answer each refused publish got (a 4xx is final; a 5xx or no answer after six tries). */
  const refusals: string[] = [];
  injecting = true;
  options.log(`fault injection: ${plan.length} publishes, ${(options.rate * 100).toFixed(1)}% of AWS calls faulted`);
  let next = 0;
  const worker = async () => {
    for (let p = plan[next++]; p; p = plan[next++]) {
      let ok = false;
      let last = "";
      for (let attempt = 0; attempt < 6 && !ok; attempt++) {
        if (attempt > 0) {
          clientRetries++;
          await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
        }
        try {
          const res = await api(p.path, {
            method: "POST",
            headers: { ...p.headers, "Upstash-Deduplication-Id": p.id },
            body: p.body ?? p.id,
          });
          const answer = (await res.json().catch(() => ({}))) as { messageId?: string };
          ok = res.status >= 200 && res.status < 300;
          if (!ok) last = `${res.status} ${JSON.stringify(answer).slice(0, 200)}`;
          if (ok && answer.messageId) messageIds.set(p.id, answer.messageId);
          if (!ok && res.status < 500) break; // a 4xx is an answer, not a fault
        } catch (error) {
          last = `no answer: ${String(error)}`; // connection error: retried
        }
      }
      if (ok) accepted.push(p);
      else {
        refused++;
        if (refusals.length < 10) refusals.push(`${p.id}: ${last}`);
      }
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  options.log(
    `  load done: ${accepted.length} accepted, ${refused} refused after retries, ${clientRetries} client retries` +
      refusals.map((r) => `\n    refused ${r}`).join(""),
  );

  // Faults go on while the backlog drains: retries, callbacks and queue turns recover under them too.
  const expectedKeys = (p: Publish): string[] =>
    p.deliveries === 0 ? [] : p.kind === "fanout" ? ["a", "b", "c"].map((e) => `/fan/${e}|${p.id}`) : [`|${p.id}`];
  const missing = () => accepted.flatMap(expectedKeys).filter((key) => !seen.has(key));
  const missingCallbacks = () => accepted.filter((p) => p.callback && !callbacks.has(p.id));
  const deadline = Date.now() + (options.settleMs ?? 300_000);
  while ((missing().length > 0 || missingCallbacks().length > 0) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
  }
  injecting = false;
  const left = missing();
  // The long waits: each readable and still pending, its job held by Scheduler or by SQS.
  let held = 0;
  const notHeld: string[] = [];
  for (const p of accepted.filter((q) => q.deliveries === 0)) {
    const res = await api(`/v2/messages/${messageIds.get(p.id)}`);
    if (res.status === 200) held++;
    else notHeld.push(`${p.id} (GET answered ${res.status})`);
  }
  if (left.length > 0) {
    // What the queues say of themselves, to tell a stalled queue from lost messages.
    const queues = await (await api("/v2/queues")).json().catch(() => undefined);
    options.log(`  queues at the end: ${JSON.stringify(queues)}`);
    if (process.env.HERALD_FAULTS_DIAGNOSE) await diagnose(herald, options.log);
  }
  let duplicates = 0;
  for (const key of accepted.flatMap(expectedKeys)) {
    const times = seen.get(key) ?? 0;
    const isRetry = key.startsWith("|retry-");
    duplicates += Math.max(0, times - (isRetry ? 2 : 1)); // a retry message is delivered twice by design
  }
  const expectedDeliveries = accepted.reduce((sum, p) => sum + p.deliveries, 0);
  const result: FaultRunResult = {
    ok: left.length === 0 && missingCallbacks().length === 0 && notHeld.length === 0 && accepted.length > 0,
    rate: options.rate,
    calls,
    injected,
    publishes: {
      sent: plan.length,
      accepted: accepted.length,
      client_retries: clientRetries,
      refused_after_retries: refused,
    },
    messages: {
      expected: expectedDeliveries,
      delivered: expectedDeliveries - left.length,
      missing: left.length,
      duplicate_deliveries: duplicates,
    },
    long_waits: { accepted: accepted.filter((p) => p.deliveries === 0).length, held_pending: held },
    callbacks: {
      expected: accepted.filter((p) => p.callback).length,
      delivered: accepted.filter((p) => p.callback && callbacks.has(p.id)).length,
    },
    stuck: [
      ...left.slice(0, 20),
      ...missingCallbacks()
        .slice(0, 20)
        .map((p) => `callback of ${p.id}`),
      ...notHeld.slice(0, 20),
    ],
    duration_s: Math.round((performance.now() - started) / 1000),
  };
  const totalInjected = Object.values(injected).reduce((a, b) => a + b, 0);
  const totalCalls = Object.values(calls).reduce((a, b) => a + b, 0);
  options.log(
    `  ${totalInjected} faults injected in ${totalCalls} AWS calls; delivered ${result.messages.delivered}/` +
      `${result.messages.expected} messages and ${result.callbacks.delivered}/${result.callbacks.expected} callbacks, ` +
      `${duplicates} duplicate deliveries, ${left.length} missing; ${held}/${result.long_waits.accepted} ` +
      `30-minute waits held (${result.duration_s} s)`,
  );
  await herald.close();
  await new Promise<void>((done) => sink.close(() => done()));
  rmSync(dataDir, { recursive: true, force: true });
  return result;
}

/** Development aid (HERALD_FAULTS_DIAGNOSE=1): the head entries of each queue and their messages' status. */
async function diagnose(herald: Awaited<ReturnType<typeof startAwsLocal>>, log: (line: string) => void) {
  const { DynamoDBClient } = await import("@aws-sdk/client-dynamodb");
  const { DynamoDBDocumentClient, QueryCommand, GetCommand } = await import("@aws-sdk/lib-dynamodb");
  const { EMULATOR_CREDENTIALS, EMULATOR_REGION } = await import("../../emulation/emulators.ts");
  const doc = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: herald.emulators.dynamodbEndpoint,
      region: EMULATOR_REGION,
      credentials: herald.emulators.credentials,
    }),
  );
  const TableName = herald.emulators.tableName;
  const { SQSClient, ListQueuesCommand, GetQueueAttributesCommand } = await import("@aws-sdk/client-sqs");
  const sqs = new SQSClient({
    endpoint: herald.emulators.sqsEndpoint,
    region: EMULATOR_REGION,
    credentials: EMULATOR_CREDENTIALS,
  });
  for (const url of (await sqs.send(new ListQueuesCommand({}))).QueueUrls ?? []) {
    const a = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["All"] }));
    log(
      `  ${url}: visible ${a.Attributes?.ApproximateNumberOfMessages}, in flight ${a.Attributes?.ApproximateNumberOfMessagesNotVisible}, delayed ${a.Attributes?.ApproximateNumberOfMessagesDelayed}`,
    );
  }
  for (const q of ["faults-q0", "faults-q1", "faults-q2"]) {
    const { Items = [] } = await doc.send(
      new QueryCommand({
        TableName,
        KeyConditionExpression: "PK = :pk",
        ExpressionAttributeValues: { ":pk": `QE#${q}` },
        Limit: 3,
      }),
    );
    for (const item of Items) {
      const key = partitionedStatusKey(String(item.m)) ?? { PK: `M#${item.m}`, SK: "#S" };
      const status = await doc.send(new GetCommand({ TableName, Key: key }));
      log(`  ${q} ${JSON.stringify(item)} status ${JSON.stringify(status.Item)}`);
    }
  }
}
