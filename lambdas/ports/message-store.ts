import type { LogEvent, Message, MessageState, MessageStatus, StoredMessage } from "../core/message.ts";

/** Messages and their status; a status change and the log events it makes are written together. */
export interface MessageStore {
  /**
   * The store writes an `unlisted` message without a status item (one item instead of two, and no index
   * entry): until a status is written, getMessage reads it as `{ CREATED, 0, implicit }`, and an
   * updateStatus from that writes the first status item. Such messages are not in scanMessages.
   */
  readonly lightRecords?: boolean;
  /** Stores a new message with its first status and events. Returns false (and changes nothing) if the id exists. */
  createMessage(message: Message, status: MessageStatus, events: LogEvent[]): Promise<boolean>;
  getMessage(messageId: string): Promise<StoredMessage | undefined>;
  /** Compare-and-set on the status; appends the events only when the update happened. */
  updateStatus(messageId: string, expected: MessageStatus, next: MessageStatus, events: LogEvent[]): Promise<boolean>;
  /** Messages whose status is one of `states`, oldest first, without their bodies (empty). */
  scanMessages(states: readonly MessageState[]): AsyncIterable<StoredMessage>;
}
