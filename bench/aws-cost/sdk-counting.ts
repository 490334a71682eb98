// Counting AWS SDK requests: a middleware added to every client Herald and the platform stand-ins make,
// counting each request per service and operation into the current meter, with DynamoDB's consumed
// capacity, SQS's billed 64 KB chunks and S3's request classes.
import { SQS_CHUNK_BYTES } from "../prices-us-east-1.ts";
import { recordWait } from "./aws-latency.ts";
import { utf8, type Meter, type Owner } from "./meter.ts";

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
export type Middleware = (next: Handler, context: { clientName?: string; commandName?: string }) => Handler;
/** The part of an AWS SDK v3 client the counting middleware needs. */
export interface Instrumentable {
  middlewareStack: { add(middleware: Middleware, options: { step: "initialize"; name: string }): void };
}

function sqsMessageBytes(message: SqsMessageLike): number {
  let bytes = utf8(message.MessageBody ?? message.Body);
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    bytes += utf8(name) + utf8(value.DataType) + utf8(value.StringValue) + (value.BinaryValue?.byteLength ?? 0);
  }
  return bytes;
}

/**
 * What a read is billed at least, found or not. DynamoDB Local reports 0 units for a read that finds
 * nothing; DynamoDB bills it: "If you perform a read operation on an item that doesn't exist, DynamoDB will
 * still consume read throughput ... For Query/Scan operations, you'll still be charged ... even if no data
 * exists" (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html):
 * one 4 KB unit per item asked for (GetItem, each BatchGetItem key) or per Query, halved when eventually
 * consistent.
 */
export function minimumReadUnits(operation: string, input: Record<string, unknown>): number {
  const unit = (consistent: unknown) => (consistent === true ? 1 : 0.5);
  if (operation === "BatchGetItem") {
    const tables = Object.values(
      (input.RequestItems ?? {}) as Record<string, { Keys?: unknown[]; ConsistentRead?: boolean }>,
    );
    return tables.reduce((sum, t) => sum + (t.Keys?.length ?? 0) * unit(t.ConsistentRead), 0);
  }
  return operation === "GetItem" || operation === "Query" || operation === "Scan" ? unit(input.ConsistentRead) : 0;
}

/**
 * Counts each request of an instrumented client per service and operation into the current meter; for
 * DynamoDB it asks for the consumed capacity (INDEXES: the total plus the table/GSI split) and sums it; for
 * SQS it works out the billed requests (one per started 64 KB of payload, at least one).
 */
export function countingMiddleware(meter: () => Meter, owner: Owner): Middleware {
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
        m.dynamoOp(operation, "write", 1);
      } else if (service === "DynamoDB") {
        m.dynamoOp(operation, kind, 0);
      }
      if (service === "SQS") {
        m.sqsBilled++;
        m.sqsOp(`${operation} (${owner})`, 1, false);
      }
      throw error;
    }
    recordWait(service, start, performance.now());
    // Counted when answered, in the meter of that moment: a long poll that started before a workload and
    // returns its messages belongs to it; one still waiting at its end does not.
    const m = meter();
    m.count(`${service} ${operation} (${owner})`);
    const output = result.output;
    if (service === "DynamoDB") {
      m.dynamoOp(operation, kind, 0);
      for (const cc of [output.ConsumedCapacity].flat() as (ConsumedCapacity | undefined)[]) {
        if (!cc) continue;
        const reported = cc.CapacityUnits ?? (cc.ReadCapacityUnits ?? 0) + (cc.WriteCapacityUnits ?? 0);
        const units = kind === "read" ? Math.max(reported, minimumReadUnits(operation, args.input)) : reported;
        if (kind === "write") m.writeUnits += units;
        else m.readUnits += units;
        m.dynamoOp(operation, kind, units, 0);
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
        const fifo = String(args.input.QueueUrl ?? "").endsWith(".fifo");
        if (fifo) m.sqsBilledFifo += billed;
        else m.sqsBilled += billed;
        m.sqsOp(
          `${operation} (${owner === "platform" && operation === "SendMessage" ? "Scheduler" : owner})`,
          billed,
          fifo,
        );
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
