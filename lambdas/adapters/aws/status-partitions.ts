// Where a message's status item lives (docs/architecture.md §7). The status of a message whose id is of a
// publish's shape is kept under MS#<shard> / <messageId>: those partitions are themselves the list bulk
// cancel walks (an id starts with its creation time, so each partition is in creation order), so the
// status needs no index entry. A write of it is one write unit, where the index made a pending status two
// and a change of pending state three. Statuses of other ids (a callback's derived id), and those written
// before this layout, stay under M#<messageId> / #S with their index entry (a message item without the
// STATUS_PARTITIONED mark says so).
import { RECORD_PAGE_ID } from "./dynamo-event-log.ts";
import { shardOf, type Key } from "./dynamo-table.ts";

/**
 * Status partitions. Every pending message's status is written here (twice or more), where the index's
 * eight were a state's: a partition takes about 1,000 writes a second, and a bulk cancel reads them all
 * at once.
 */
export const STATUS_SHARDS = 32;

/** The attribute that marks a message item (or record page) whose status is in its status partition. */
export const STATUS_PARTITIONED = "sp";

/** The key of a message's status in its status partition, or undefined for an id of another shape. */
export function partitionedStatusKey(messageId: string): Key | undefined {
  if (!RECORD_PAGE_ID.test(messageId)) return undefined;
  return { PK: `MS#${shardOf(messageId, STATUS_SHARDS)}`, SK: messageId };
}

/** The partition keys bulk cancel walks. */
export const statusPartitions = (): string[] => Array.from({ length: STATUS_SHARDS }, (_, shard) => `MS#${shard}`);
