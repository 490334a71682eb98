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
   */
  appendEvents(events: LogEvent[], carried?: Message[]): Promise<void>;
  scanEvents(options: ScanOptions & { messageIds?: string[] }): AsyncIterable<Positioned<LoggedEvent>>;
  /**
   * Writes the events a store holds back to batch them (DynamoDB's `deferEvents`, one log page per Lambda
   * invocation); until then scans may not see them. Absent where every append is written at once.
   */
  flushEvents?(): Promise<void>;
}
