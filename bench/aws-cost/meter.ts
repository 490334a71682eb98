// One workload's counters: every billable request, capacity unit, invocation and log byte counted while it
// runs (by sdk-counting.ts, log-capture.ts and the harness's hooks), priced by pricing.ts.

/** Who made an AWS request: Herald's code ("lambda") or the platform (ESM poller, Scheduler's sends). */
export type Owner = "lambda" | "platform";
export type Fn = "api" | "deliver";

export const utf8 = (text: string | undefined): number => (text ? Buffer.byteLength(text) : 0);

export class Meter {
  readonly requests = new Map<string, number>();
  readonly byTarget = new Map<string, { read: number; write: number }>();
  /** DynamoDB per operation: requests and the capacity units they consumed (the cost table's lines). */
  readonly dynamoByOp = new Map<string, { requests: number; read: number; write: number }>();
  /** SQS billed requests (64 KB chunks) per operation and who made it, e.g. "ReceiveMessage (platform)". */
  readonly sqsByOp = new Map<string, { requests: number; billed: number; fifo: boolean }>();
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
  /** Of the stored bytes, the workflow step log's: kept WORKFLOW_STEP_HORIZON_MS past the retention. */
  stepLogStoredBytes = 0;
  apiRequests = 0;
  apiMetered = 0;
  accessLogBytes = 0;

  count(key: string, map = this.requests, n = 1): void {
    map.set(key, (map.get(key) ?? 0) + n);
  }

  dynamoOp(operation: string, kind: "read" | "write", units: number, requests = 1): void {
    const entry = this.dynamoByOp.get(operation) ?? { requests: 0, read: 0, write: 0 };
    entry.requests += requests;
    entry[kind] += units;
    this.dynamoByOp.set(operation, entry);
  }

  sqsOp(label: string, billed: number, fifo: boolean): void {
    const entry = this.sqsByOp.get(label) ?? { requests: 0, billed: 0, fifo };
    entry.requests++;
    entry.billed += billed;
    this.sqsByOp.set(label, entry);
  }

  capacity(target: string, kind: "read" | "write", units: number): void {
    const entry = this.byTarget.get(target) ?? { read: 0, write: 0 };
    entry[kind] += units;
    this.byTarget.set(target, entry);
  }
}
