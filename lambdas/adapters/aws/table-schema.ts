// The one DynamoDB table Herald uses, described once: the CDK stack and the emulated-AWS setup both read
// it, so the deployed table and the tested one cannot drift apart.
//
// Items (PK / SK):
//   M#<messageId> / #M              the message as accepted: meta + body (or an S3 reference); written once
//                                   (a publish-shaped id with a body up to 4 KiB: its record page instead)
//   MS#<shard>    / <messageId>     its status (a publish-shaped id): state, retried (small, the only item
//                                   updated per attempt); the partitions list them for bulk cancel
//                                   (status-partitions.ts)
//   M#<messageId> / #S              the status of another id (a callback's), or one written before status
//                                   partitions
//   L#<day>#<shard> / <t13>.<seq>   a log page: the events of one request or delivery batch, compressed,
//                                   with the messages that had no record of their own (log-pages.ts)
//   L#<day>#<shard> / <t13>.-<id>   a record page: a message's first events' page holding the message as
//                                   M#/#M would; the key from the id's time and shard (recordPageKey)
//   D#<dlqId>     / #D              a DLQ entry; in GSI2 under DLQ#<shard>
//   R#<kind>      / <name>          a URL group, queue, schedule, flow-control key or deleted-queue marker,
//                                   workflow run, waiter or early event; a record put with listedAt (a
//                                   workflow run) is in GSI2 under RL#<kind>#<shard>, sorted by that time
//                                   (JSON, version v)
//   C#<counter>   / #C              a counter (queue positions, wait-list positions)
//   QE#<queue>    / <seq15>         an unfinished queue message, or a flow-control waiter (fc:<key>)
//   DD#<id>       / #DD             a deduplication claim
//   WS#<runId>    / <seq15>         a workflow run's step (dynamo-workflow-steps.ts)
// Pending statuses under M#<messageId> / #S are in GSI2 under S#<state>#<shard> (bulk cancel).
// A message that travels with its first delivery job has no items until it needs them (a retry).
// Messages, log pages, DLQ entries, deduplication claims and workflow steps have `expiresAt` (epoch seconds) for TTL;
// records, counters and queue entries live until deleted.

export const TABLE_KEYS = { partitionKey: "PK", sortKey: "SK" } as const;
export const TTL_ATTRIBUTE = "expiresAt";
export const GSI_LISTS = { indexName: "lists", partitionKey: "g2pk", sortKey: "g2sk" } as const;

/** Hot lists are spread over this many partitions (a DynamoDB partition takes ~1,000 writes/s). */
export const SHARDS = 8;
