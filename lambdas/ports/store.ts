import type { DedupClaims } from "./dedup-claims.ts";
import type { DlqStore } from "./dlq-store.ts";
import type { EventLog } from "./event-log.ts";
import type { MessageStore } from "./message-store.ts";
import type { QueueEntries } from "./queue-entries.ts";
import type { RecordStore } from "./record-store.ts";
import type { WorkflowSteps } from "./workflow-steps.ts";

/**
 * Everything a platform keeps, as one object (SQLite: one file; AWS: one DynamoDB table). Core functions
 * that need one concern take that port alone.
 */
export type Store = MessageStore & EventLog & DlqStore & RecordStore & QueueEntries & DedupClaims & WorkflowSteps;
