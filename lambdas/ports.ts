// The interfaces core needs from the world (docs/architecture.md §3), one file per concern under ports/. Each platform
// (local: SQLite + in-process; AWS: DynamoDB + SQS + Scheduler) fills them in; the same contract specs
// run against both. This file gathers them for the modules that import them from one place.
export type * from "./ports/clock.ts";
export type * from "./ports/cron-trigger.ts";
export type * from "./ports/dedup-claims.ts";
export type * from "./ports/dispatcher.ts";
export type * from "./ports/dlq-store.ts";
export type * from "./ports/event-log.ts";
export type * from "./ports/http-sender.ts";
export type * from "./ports/keys.ts";
export type * from "./ports/message-store.ts";
export type * from "./ports/queue-entries.ts";
export type * from "./ports/record-store.ts";
export type * from "./ports/scan.ts";
export type * from "./ports/store.ts";
export type * from "./ports/workflow-steps.ts";
