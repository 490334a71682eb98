import type { Positioned, ScanOptions } from "./scan.ts";

/**
 * Named resources kept as small JSON records: URL groups, queues, schedules (and each one's last
 * firing, apart from its definition: the firing is written each time, the definition rarely), flow-control keys,
 * markers of deleted queues that may still hold entries (the sweep finds them there, core/sweep.ts),
 * workflow runs, their waiters and events notified ahead of a wait (core/workflow.ts, workflow-events.ts),
 * and the marks of bulk cancels that reach unlisted messages (core/cancel-marks.ts).
 */
export type RecordKind =
  | "urlGroup"
  | "queue"
  | "schedule"
  | "scheduleFiring"
  | "flowControl"
  | "deletedQueue"
  | "workflowRun"
  | "workflowWaiter"
  | "workflowEvent"
  | "cancelMarks";

export interface Versioned<T> {
  value: T;
  /** Starts at 1; every successful put adds one (compare-and-set). */
  version: number;
}

export interface RecordPutOptions {
  /** Epoch ms: the store may drop the record after then (an ended workflow run). */
  expiresAt?: number;
  /**
   * Epoch ms: the record is listed in time order by it (scanRecords; a workflow run's creation). Give
   * the same value on every put of that record.
   */
  listedAt?: number;
}

/**
 * A compare-and-set's outcome. On conflict, `current` is the record the write met (undefined: there was
 * none), read in the same request, so a caller that retries needs no second read (on DynamoDB:
 * `ReturnValuesOnConditionCheckFailure`, which bills no read unit).
 */
export type RecordSwap<T> = { written: true } | { written: false; current: Versioned<T> | undefined };

export interface RecordStore {
  getRecord<T>(kind: RecordKind, name: string): Promise<Versioned<T> | undefined>;
  /**
   * Writes when the stored version is `expectedVersion` (undefined: only when absent); on conflict,
   * answers with the record the write met. Without `options.expiresAt` the record lives until deleted.
   * (`putRecord` in core/records.ts when only the outcome matters.)
   */
  swapRecord<T>(
    kind: RecordKind,
    name: string,
    value: T,
    expectedVersion: number | undefined,
    options?: RecordPutOptions,
  ): Promise<RecordSwap<T>>;
  /** Deletes (only when the stored version is `expectedVersion`, if given); false when nothing was deleted. */
  deleteRecord(kind: RecordKind, name: string, expectedVersion?: number): Promise<boolean>;
  /** Every record of a kind (whose name starts with `prefix`, if given), ordered by name. */
  listRecords<T>(kind: RecordKind, prefix?: string): Promise<T[]>;
  /**
   * The records of a kind put with `listedAt`, in its order (ties by name), read a page at a time from an
   * index: what lists workflow runs newest first without reading every run. Positions: `{time: listedAt,
   * key: name}`.
   */
  scanRecords<T>(kind: RecordKind, options: ScanOptions): AsyncIterable<Positioned<T>>;
}
