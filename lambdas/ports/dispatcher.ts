import type { Message } from "../core/message.ts";

/** "Attempt `retried` of message M is due at time T." */
export interface DeliveryJob {
  messageId: string;
  retried: number;
  /** The whole message, when it travels with its job instead of being stored (first attempts only). */
  message?: Message;
}

export interface Dispatcher {
  /**
   * True when a job can carry its message (SQS: the job is the message while it is in flight). Core then
   * stores no record for a message that nothing needs to look up before its first attempt ends: no delay,
   * no queue, no flow control, no deduplication, not from a schedule, small body. On AWS this saves the
   * per-message DynamoDB writes (docs/architecture.md §19, §26).
   */
  readonly carriesMessages?: boolean;
  /** Durably schedules the job; it runs (at least once) no earlier than `dueAt` (epoch ms). */
  dispatch(job: DeliveryJob, dueAt: number): Promise<void>;
}
