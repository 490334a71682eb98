// Workflow step logs on the DynamoDB table (table-schema.ts):
//   WS#<runId> / <seq15>   a step: message id m, call type t, body b (or, when large, none: read from the
//                          message, whose body may be in S3), created at c
// An append reads the last step (one strongly consistent read of one item) and puts the next seq only if
// it is free: concurrent appends of parallel steps each get their own seq, without gaps.
import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import type { Message } from "../../core/message.ts";
import type { WorkflowStep, WorkflowSteps } from "../../ports.ts";
import type { DynamoTable, Item } from "./dynamo-table.ts";

const padSeq = (seq: number): string => String(seq).padStart(15, "0");
/** Larger step bodies are not copied into the step item (an item holds at most 400 KB). */
const INLINE_BODY_BYTES = 64 * 1024;

export interface DynamoWorkflowStepsOptions {
  table: DynamoTable;
  /** Epoch seconds after which a step created at `createdAt` may go (TTL). */
  expiresAt: (createdAt: number) => number;
  /** The message a large step body is read from. */
  getMessage: (messageId: string) => Promise<Message | undefined>;
}

export class DynamoWorkflowSteps implements WorkflowSteps {
  private readonly options: DynamoWorkflowStepsOptions;

  constructor(options: DynamoWorkflowStepsOptions) {
    this.options = options;
  }

  async appendStep(runId: string, step: Omit<WorkflowStep, "seq">): Promise<number> {
    const { table } = this.options;
    for (;;) {
      const result = await table.doc.send(
        new QueryCommand({
          TableName: table.name,
          KeyConditionExpression: "PK = :pk",
          ExpressionAttributeValues: { ":pk": `WS#${runId}` },
          ScanIndexForward: false,
          ConsistentRead: true,
          Limit: 1,
          ProjectionExpression: "SK, m",
        }),
      );
      const last = result.Items?.[0];
      // Our own put, whose answer was lost and which the SDK then sent again (that retry failed its condition).
      if (last?.m === step.messageId) return Number(last.SK);
      const seq = last ? Number(last.SK) + 1 : 0;
      const inline = step.body.byteLength <= INLINE_BODY_BYTES;
      const item: Item = {
        PK: `WS#${runId}`,
        SK: padSeq(seq),
        m: step.messageId,
        t: step.callType,
        c: step.createdAt,
        expiresAt: this.options.expiresAt(step.createdAt),
        ...(inline ? { b: step.body } : { big: true }),
      };
      if (await table.putIfAbsent(item)) return seq;
      // Another append took this seq: read the last one again.
    }
  }

  async listSteps(runId: string, upTo?: number): Promise<WorkflowStep[]> {
    const steps: WorkflowStep[] = [];
    for await (const item of this.options.table.queryAll({
      KeyConditionExpression: upTo === undefined ? "PK = :pk" : "PK = :pk AND SK <= :upTo",
      ExpressionAttributeValues: { ":pk": `WS#${runId}`, ...(upTo === undefined ? {} : { ":upTo": padSeq(upTo) }) },
      ConsistentRead: true,
    })) {
      const body =
        item.big === true
          ? ((await this.options.getMessage(item.m as string))?.body ?? new Uint8Array(0))
          : item.b instanceof Uint8Array
            ? item.b
            : new Uint8Array(0);
      steps.push({
        seq: Number(item.SK),
        messageId: item.m as string,
        callType: item.t as string,
        body,
        createdAt: Number(item.c),
      });
    }
    return steps;
  }
}
