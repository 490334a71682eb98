// Emulated AWS wired for counting: Herald's handlers on DynamoDB Local and fauxqs with every SDK client
// instrumented, every invocation timed, the Lambdas' output captured, a sink as the destination, and the
// calls and waits a workload needs. What is counted goes into `meter`, which the runner swaps per workload.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { startAwsLocal, type AwsLocalHerald } from "../../emulation/emulated-aws-server.ts";
import { EMULATOR_CREDENTIALS, EMULATOR_REGION } from "../../emulation/emulators.ts";
import { API_GATEWAY_HTTP_METERING_BYTES } from "../prices-us-east-1.ts";
import { accessLogLine } from "./access-log-line.ts";
import { msAtAwsLatency, recordWait } from "./aws-latency.ts";
import { tableBytes } from "./item-size.ts";
import { LogCapture } from "./log-capture.ts";
import { Meter, utf8 } from "./meter.ts";
import { movableProcessClock, powertoolsAsDeployed, type MovableClock } from "./process-patches.ts";
import { fullBatches, receiveCap } from "./delivery-batches.ts";
import { countingMiddleware, type Instrumentable } from "./sdk-counting.ts";
import { startCountingProxy, type CountingProxy } from "./api-proxy.ts";
import { Sink, sinkDelayFromEnv } from "./sink.ts";
import type { Client as WorkflowClient } from "@upstash/workflow";
import {
  startWorkflowApp,
  workflowClients,
  type WorkflowApp,
  type WorkflowHost,
} from "../../test/support/workflow-app.ts";
import { readStack, type StackRead } from "./stack.ts";

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface QueueDepth {
  visible: number;
  inFlight: number;
  delayed: number;
}

export class CostHarness {
  /** Where what happens now is counted. */
  meter = new Meter();
  /**
   * At most this many messages per receive of the event source mapping's stand-in (one: a trickle, each
   * delivery batch holds one message); undefined: the stack's batch size.
   */
  deliveryBatchCap: number | undefined;
  /**
   * Whether the stand-in's receives on the delivery queue wait for full batches (steady load: the jobs a
   * workload makes later are batched as its first ones are; delivery-batches.ts).
   */
  steadyBatches = false;
  readonly capture = new LogCapture(() => this.meter);
  readonly sink = new Sink(sinkDelayFromEnv());
  sinkUrl = "";
  clock: MovableClock | undefined;
  stack!: StackRead;
  herald!: AwsLocalHerald;
  private readonly log: (line: string) => void;
  private restoreEnv: (() => void) | undefined;
  private dataDir: string | undefined;
  private starting: Promise<AwsLocalHerald> | undefined;
  private readonly inspect: { dynamo?: DynamoDBClient; sqs?: SQSClient } = {};
  private apiProxy: Promise<CountingProxy> | undefined;
  private workflowSetup: Promise<{ app: WorkflowApp; client: WorkflowClient }> | undefined;

  constructor(log: (line: string) => void) {
    this.log = log;
  }

  /** The bench's own output, past the capture (it is not Lambda log). */
  say(line: string): void {
    this.capture.unCaptured(() => this.log(line));
  }

  /** Starts emulated AWS and synthesizes the stack meanwhile. `close` undoes a start that failed halfway too. */
  async start(): Promise<void> {
    this.restoreEnv = powertoolsAsDeployed();
    this.dataDir = mkdtempSync(join(tmpdir(), "herald-aws-cost-"));
    this.sinkUrl = await this.sink.start();
    this.clock = movableProcessClock();
    this.starting = startAwsLocal({
      port: 0,
      dataDir: this.dataDir,
      env: { HERALD_TOKEN: "bench-token-0123456789abcdef" },
      instrument: (client, owner) => {
        const stack = (client as unknown as Instrumentable).middlewareStack;
        stack.add(
          countingMiddleware(() => this.meter, owner),
          { step: "initialize", name: "heraldCostBench" },
        );
        if (owner === "platform") {
          stack.add(
            receiveCap(() => this.deliveryBatchCap),
            { step: "initialize", name: "heraldCostBenchTrickle" },
          );
          stack.add(
            fullBatches(
              () => this.steadyBatches && this.deliveryBatchCap === undefined,
              () => this.herald.emulators.queueUrl,
              () => this.queueDepth(),
            ),
            { step: "initialize", name: "heraldCostBenchSteady" },
          );
        }
      },
      onStandInRequest: (service, operation) => {
        const m = this.meter;
        m.count(operation, service === "Scheduler" ? m.schedulerCalls : m.secretsCalls);
        recordWait(service, performance.now(), performance.now()); // answered in process: no emulator wait
      },
      onInvoke: (fn, ms, invocation) => {
        const l = this.meter.lambda[fn];
        l.invocations++;
        l.billedMs += Math.max(1, Math.ceil(ms));
        l.rawMs += ms;
        l.billedMsAtAws += Math.ceil(msAtAwsLatency(invocation, ms));
      },
    });
    this.starting.catch(() => undefined); // awaited below; the synth runs meanwhile
    this.stack = await readStack();
    this.herald = await this.starting;
    const { logger } = await import("../../lambdas/handlers/observability.ts");
    logger.setLogLevel("INFO");
    const { dynamodbEndpoint, sqsEndpoint, credentials } = this.herald.emulators;
    const common = { region: EMULATOR_REGION, credentials: EMULATOR_CREDENTIALS };
    this.inspect.dynamo = new DynamoDBClient({ ...common, credentials, endpoint: dynamodbEndpoint });
    this.inspect.sqs = new SQSClient({ ...common, endpoint: sqsEndpoint });
  }

  /** An authenticated API request, counted as API Gateway bills it (requests, metered size, access log). */
  async call(method: string, path: string, body = "", headers: Record<string, string> = {}): Promise<string> {
    const h = this.herald;
    const response = await fetch(`${h.url}${path}`, {
      method,
      headers: { Authorization: `Bearer ${h.token}`, ...headers },
      ...(body ? { body } : {}),
    });
    const text = await response.text();
    if (response.status >= 300) throw new Error(`${method} ${path} -> ${response.status} ${text}`);
    this.countApiRequest(method, path, utf8(body), response.status, utf8(text));
    return text;
  }

  /** One API request as API Gateway bills it: the request, its metered size (512 KB units), its access log line. */
  countApiRequest(method: string, url: string, requestBytes: number, status: number, responseBytes: number): void {
    const m = this.meter;
    m.apiRequests++;
    m.apiMetered += Math.max(1, Math.ceil(requestBytes / API_GATEWAY_HTTP_METERING_BYTES));
    m.accessLogBytes += utf8(accessLogLine({ method, url, status, responseBytes }, this.stack.accessLogFormat));
  }

  /**
   * The API's URL for clients the bench does not drive itself (the workflow SDK's QStash client): a proxy
   * in front of it counting each request as `call` does, whatever its answer.
   */
  async countedApiUrl(): Promise<string> {
    this.apiProxy ??= startCountingProxy(this.herald.url, (method, url, requestBytes, status, responseBytes) =>
      this.countApiRequest(method, url, requestBytes, status, responseBytes),
    );
    return (await this.apiProxy).url;
  }

  /**
   * The workflow app (the official SDK's serve; outside AWS, the customer's endpoint) and the SDK's
   * Workflow client to trigger runs, both talking to the API through the counting proxy. Started once.
   */
  async workflow(): Promise<{ app: WorkflowApp; client: WorkflowClient }> {
    this.workflowSetup ??= (async () => {
      const herald = this.herald;
      const host: WorkflowHost = {
        server: { url: await this.countedApiUrl(), token: herald.token },
        // Setup only (the signing keys): straight to the API, not counted.
        api: (path, init = {}) =>
          fetch(`${herald.url}${path}`, {
            ...init,
            headers: { Authorization: `Bearer ${herald.token}`, ...(init.headers as Record<string, string>) },
          }),
      };
      const [app, { workflow: client }] = await Promise.all([startWorkflowApp(host), workflowClients(host)]);
      return { app, client };
    })();
    return this.workflowSetup;
  }

  /** A sink URL that counts its deliveries for `workload`. */
  url(workload: string, kind: string, i: number): string {
    return `${this.sinkUrl}/w/${workload}/${kind}/${i}`;
  }

  /** The bytes the table bills for now (not counted). */
  tableBytes(): Promise<{ total: number; stepLog: number }> {
    return tableBytes(this.inspect.dynamo as DynamoDBClient, this.herald.emulators.tableName);
  }

  async queueDepth(): Promise<QueueDepth> {
    const { Attributes: a = {} } = await (this.inspect.sqs as SQSClient).send(
      new GetQueueAttributesCommand({
        QueueUrl: this.herald.emulators.queueUrl,
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
  }

  /** Waits until `done` holds on two looks 200 ms apart (the queue settled), or fails after `timeoutMs`. */
  async settle(what: () => string, done: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (await done()) {
        await sleep(200);
        if (await done()) return;
      }
      if (performance.now() > deadline) {
        const errors = this.capture.errors.length > 0 ? `; Herald logged: ${this.capture.errors.join("\n")}` : "";
        throw new Error(
          `aws-cost: timed out waiting for ${what()}; queue ${JSON.stringify(await this.queueDepth())}${errors}`,
        );
      }
      await sleep(50);
    }
  }

  /** Waits for `expected` deliveries of `workload` (at the sink, unless `count` counts them) and an empty queue. */
  drained(
    workload: string,
    expected: number,
    timeoutMs: number,
    count = () => this.sink.count(workload),
  ): Promise<void> {
    return this.settle(
      () => `${expected} deliveries of ${workload} (got ${count()})`,
      async () => {
        if (count() < expected) return false;
        const q = await this.queueDepth();
        return q.visible + q.inFlight + q.delayed === 0;
      },
      timeoutMs,
    );
  }

  /**
   * As `drained`, and then, while the queue holds only delayed jobs (work the deliveries left for later,
   * e.g. a duplicate run told to come back when a flow-control hold goes stale), moves the clock 16 minutes
   * on and fires what is due (one-time schedules; the sweep too, when due), up to `maxHops` times: so that
   * work is counted too. Returns the hops made.
   */
  async drainedLate(
    workload: string,
    expected: number,
    timeoutMs: number,
    count = () => this.sink.count(workload),
    maxHops = 4,
  ): Promise<number> {
    for (let hop = 0; ; hop++) {
      await this.settle(
        () => `${expected} deliveries of ${workload} (got ${count()})`,
        async () => {
          if (count() < expected) return false;
          const q = await this.queueDepth();
          return q.visible + q.inFlight === 0;
        },
        timeoutMs,
      );
      if ((await this.queueDepth()).delayed === 0 || hop === maxHops) {
        await this.drained(workload, expected, timeoutMs, count);
        return hop;
      }
      // The sweep, when the hop makes it due, is counted here too (it cannot be set apart as delay2h sets it:
      // the hop has made the workload's delayed jobs visible in SQS at the same moment); the runner reports
      // every hop, and the 2026-12-04 runs made none.
      this.clock?.jumpTo(Date.now() + 16 * 60_000);
      await this.herald.runDueSchedules(Date.now());
    }
  }

  /**
   * Fires the stack's recurring schedules due at `now` (the sweep) and waits for their job, on a meter of
   * its own that is then thrown away: the sweep fires every 5 minutes whatever the traffic, and the idle
   * cost counts every firing (idle.ts). Only while SQS holds none of the workload's jobs.
   */
  async fireSweepApart(now: number, timeoutMs: number): Promise<void> {
    const kept = this.meter;
    this.meter = new Meter();
    try {
      await this.herald.runDueSchedulesOf("recurring", now);
      await this.settle(
        () => "the sweep's firing",
        async () => {
          const q = await this.queueDepth();
          return q.visible + q.inFlight + q.delayed === 0;
        },
        timeoutMs,
      );
    } finally {
      this.meter = kept;
    }
  }

  async close(): Promise<void> {
    this.capture.stop();
    await (await this.workflowSetup?.catch(() => undefined))?.app.close();
    await (await this.apiProxy?.catch(() => undefined))?.close();
    this.clock?.restore();
    this.inspect.dynamo?.destroy();
    this.inspect.sqs?.destroy();
    await (await this.starting?.catch(() => undefined))?.close();
    await this.sink.close();
    if (this.dataDir) rmSync(this.dataDir, { recursive: true, force: true });
    this.restoreEnv?.();
  }
}
