import type { LogEvent, Message } from "../core/message.ts";
import type { Positioned, ScanOptions } from "./scan.ts";

export interface LoggedEvent {
  event: LogEvent;
  /** The message the event belongs to, while it is retained. */
  message?: Message;
}

/** The log of what happened to each message (what the logs API lists). */
export interface EventLog {
  /**
   * Appends log events. `carried`: messages that have no stored record (they travelled inside their
   * delivery job, see Dispatcher.carriesMessages) — the log keeps them so its entries can show them.
   * `ends`: messages whose end these events alone record (a light record's first attempt that succeeded,
   * MessageStatus.implicit): a store that holds events back records those ends another way when it cannot
   * write them (flushEvents).
   */
  appendEvents(events: LogEvent[], carried?: Message[], ends?: string[]): Promise<void>;
  scanEvents(options: ScanOptions & { messageIds?: string[] }): AsyncIterable<Positioned<LoggedEvent>>;
  /**
   * Writes the events a store holds back to batch them (DynamoDB's `deferEvents`, one log page per Lambda
   * invocation); until then scans may not see them. Absent where every append is written at once. When
   * the events cannot be written they are kept for the next flush, and the ends among them are written
   * as statuses; a flush that can write neither fails naming those messages (their jobs must be given again).
   */
  flushEvents?(): Promise<void>;
}
