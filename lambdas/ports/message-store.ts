import type { LogEvent, Message, MessageState, MessageStatus, StoredMessage } from "../core/message.ts";

/** Messages and their status; a status change and the log events it makes are written together. */
export interface MessageStore {
  /** Stores a new message with its first status and events. Returns false (and changes nothing) if the id exists. */
  createMessage(message: Message, status: MessageStatus, events: LogEvent[]): Promise<boolean>;
  getMessage(messageId: string): Promise<StoredMessage | undefined>;
  /** Compare-and-set on the status; appends the events only when the update happened. */
  updateStatus(messageId: string, expected: MessageStatus, next: MessageStatus, events: LogEvent[]): Promise<boolean>;
  /** Messages whose status is one of `states`, oldest first, without their bodies (empty). */
  scanMessages(states: readonly MessageState[]): AsyncIterable<StoredMessage>;
}
