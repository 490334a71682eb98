import type { Message } from "../core/message.ts";

/** "Attempt `retried` of message M is due at time T." */
export interface DeliveryJob {
  messageId: string;
  retried: number;
  /** The whole message, when it travels with its job instead of being stored (first attempts only). */
  message?: Message;
  /**
   * The job came through an ordered lane (dispatchOrdered): while it runs, no later job of its lane
   * does, so it holds its queue's turn in that lane (docs/architecture.md §14).
   */
  ordered?: boolean;
  /**
   * The flow-control lane (a message group, flow-control.ts `isFlowLane`) the job came through: a lane's
   * jobs of one batch take one slot of the key in turn, handing it over within the process.
   */
  lane?: string;
  /**
   * An earlier run may have made this job's attempt: the platform gave it before (SQS:
   * ApproximateReceiveCount over 1), or it is the job of a derived id created again (a callback, a
   * schedule's firing processed twice), sent while the first job may be pending or done. A light record
   * looks in its log before attempting such a job (docs/architecture.md §19).
   */
  redelivered?: boolean;
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
  /**
   * When the platform orders queues itself (AWS: an SQS FIFO queue, one message group per lane): sends a
   * queued message's first job into `lane`, where jobs arrive in the order sent, each only after the
   * previous one's run ended, and arrive with `ordered: true`. At once: a queued message's wait
   * (`Not-Before`) is core's. Without it, core orders queues in the store (queues.ts). The first job of
   * a flow-control key's message due at once goes into one of the key's lanes too (flow-control.ts).
   */
  dispatchOrdered?(job: DeliveryJob, lane: string): Promise<void>;
}
