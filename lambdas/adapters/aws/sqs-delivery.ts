import type { SQSBatchItemFailure, SQSRecord } from "aws-lambda";
import type { DeliveryJob, Dispatcher } from "../../ports.ts";
import { parseJobBody } from "./sqs-dispatcher.ts";

export interface DeliveryBatchOptions {
  dispatcher: Dispatcher;
  deliver: (job: DeliveryJob) => Promise<unknown>;
  now: () => number;
  onError?: (message: string, error: unknown) => void;
  /** How late an attempt starts after its due time, per job (the delivery latency metric). */
  observeLag?: (lagMs: number) => void;
}

/** A job arriving this little early is delivered now (SQS delays are whole seconds). */
const EARLY_TOLERANCE_MS = 1000;

/**
 * Handles one SQS batch of delivery jobs: all attempts run concurrently; the ids of records that failed
 * inside Herald go back as batch item failures (SQS redelivers them; the redrive DLQ catches poison
 * messages). A job that arrived early from a schedule is sent on with the remaining delay.
 */
export async function processDeliveryBatch(
  records: Pick<SQSRecord, "messageId" | "body">[],
  options: DeliveryBatchOptions,
): Promise<SQSBatchItemFailure[]> {
  const results = await Promise.allSettled(
    records.map(async (record) => {
      const body = parseJobBody(record.body);
      const job = { messageId: body.m, retried: body.r };
      const now = options.now();
      if (body.d - now > EARLY_TOLERANCE_MS) return options.dispatcher.dispatch(job, body.d);
      options.observeLag?.(Math.max(0, now - body.d));
      return options.deliver(job);
    }),
  );
  const failures: SQSBatchItemFailure[] = [];
  results.forEach((result, i) => {
    if (result.status === "fulfilled") return;
    const record = records[i] as SQSRecord;
    options.onError?.(`delivery job ${record.messageId} failed inside Herald`, result.reason);
    failures.push({ itemIdentifier: record.messageId });
  });
  return failures;
}
