import type { HeaderMap } from "./headers.ts";
import type { RedactSettings } from "./redact.ts";
import type { WorkflowLink } from "./workflow.ts";

export const HTTP_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** States a message's status can be in (the log additionally records ACTIVE and ERROR, docs/qstash-api.md §23). */
export type MessageState = "CREATED" | "RETRY" | "DELIVERED" | "FAILED" | "CANCEL_REQUESTED" | "CANCELED";
export type LogState = MessageState | "ACTIVE" | "ERROR";

/** States in which a message still waits for an attempt and can be cancelled. */
export const PENDING_STATES: readonly MessageState[] = ["CREATED", "RETRY"];
/** States a message never leaves. */
export const FINAL_STATES: readonly MessageState[] = ["DELIVERED", "FAILED", "CANCELED"];

/** Settings of a callback or failure callback, applied to the message created for it. */
export interface CallbackSettings {
  url: string;
  header: HeaderMap;
  method?: HttpMethod;
  retries?: number;
  retryDelayExpression?: string;
  timeoutSec?: number;
  delaySec?: number;
}

/** `Upstash-Flow-Control-Key` / `-Value` as given with a message (docs/qstash-api.md §5). */
export interface FlowControlSettings {
  key: string;
  parallelism?: number;
  rate?: number;
  /** Seconds; the rate window (default 1 s). */
  periodSec?: number;
}

/** A message as accepted: written once, never rewritten (its status lives apart, see MessageStatus). */
export interface Message {
  messageId: string;
  url: string;
  method: HttpMethod;
  /** Headers delivered to the destination: forwarded ones (prefix stripped) plus Content-Type. */
  header: HeaderMap;
  body: Uint8Array;
  maxRetries: number;
  retryDelayExpression?: string;
  timeoutSec?: number;
  callback?: CallbackSettings;
  failureCallback?: CallbackSettings;
  labels: string[];
  /** Earliest delivery, epoch ms. */
  notBefore: number;
  createdAt: number;
  callerIp?: string;
  topicName?: string;
  endpointName?: string;
  queueName?: string;
  /** Position in its queue (enqueue order), where core orders the queue in the store. */
  queueSeq?: number;
  /** Its lane, where the platform orders the queue (queue-lanes.ts); set instead of queueSeq. */
  queueLane?: number;
  scheduleId?: string;
  flowControl?: FlowControlSettings;
  /** Values API answers show redacted (`Upstash-Redact-Fields`); deliveries send the originals. */
  redact?: RedactSettings;
  /**
   * Nothing lists it by state or waits for its end (immediate, no queue, flow control or deduplication; a
   * schedule's firing due at once too): where the store keeps light records (MessageStore.lightRecords),
   * it is stored without a status item, and a first attempt that succeeds is only logged
   * (docs/architecture.md §19).
   */
  unlisted?: boolean;
  /** A step of an Upstash Workflow run (workflow.ts): delivered with the run's step log as its body. */
  workflow?: WorkflowLink;
  /** Set on messages Herald created to deliver a callback or failure callback. */
  origin?: {
    kind: "callback" | "failureCallback";
    sourceMessageId: string;
    /** The source waits in a queue for this message to end (queues.ts). */
    sourceQueued?: boolean;
  };
}

/** The small, frequently updated part: where the message is in its life. */
export interface MessageStatus {
  state: MessageState;
  /** Attempts already made beyond the first (the next attempt sends `Upstash-Retried: retried`). */
  retried: number;
  /**
   * An unlisted message's first status, which a light record does not write (CREATED, 0): whether it
   * was delivered since is in the log only (find-message.ts).
   */
  implicit?: boolean;
}

export interface StoredMessage {
  message: Message;
  status: MessageStatus;
}

/** A response (or the absence of one) from one delivery attempt. */
export interface AttemptResponse {
  status: number;
  header: HeaderMap;
  body: Uint8Array;
}

export interface DlqEntry {
  dlqId: string;
  message: Message;
  failedAt: number;
  retried: number;
  response?: AttemptResponse;
  error?: string;
}

export interface LogEvent {
  time: number;
  messageId: string;
  state: LogState;
  error?: string;
  nextDeliveryTime?: number;
  response?: AttemptResponse;
}
