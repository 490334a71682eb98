/** An unfinished message of a queue, in enqueue order. `parked`: waiting for its turn, no job pending. */
export interface QueueEntry {
  seq: number;
  messageId: string;
  parked: boolean;
  /** When it was last un-parked (given its turn), epoch ms. */
  claimedAt?: number;
  /**
   * The attempt (`retried`) whose job the pump's claim dispatched; absent for a claim that is not a pump's
   * (a running message pinning its lane) or written before it was recorded.
   */
  turn?: number;
}

/** The entries of queues and flow-control wait lists, and the counters that number them. */
export interface QueueEntries {
  /** Atomically adds one to a named counter and returns the new value (the first call returns 1). */
  increment(counter: string): Promise<number>;
  /**
   * Adds a parked entry unless one with this seq exists. True when the entry at this seq is this
   * message's (added now, or by this same call before a retry of it); false when another message has it.
   * With `claimedAt` the entry is added already given its turn then (un-parked, no `turn`: a running
   * message pinning its lane), in the same write, so no pump can give it a turn of its own first.
   */
  putQueueEntry(queue: string, entry: Pick<QueueEntry, "seq" | "messageId" | "claimedAt">): Promise<boolean>;
  /** The first `limit` entries of a queue by seq, read consistently. */
  headQueueEntries(queue: string, limit: number): Promise<QueueEntry[]>;
  /**
   * Compare-and-set of an entry's parked flag; false when it was not `!parked` or is gone. Un-parking
   * records `now` as the entry's claimedAt, and `turn` as its turn (none: a claim that is not a pump's).
   */
  setQueueEntryParked(queue: string, seq: number, parked: boolean, now: number, turn?: number): Promise<boolean>;
  /** Compare-and-set of an un-parked entry's claimedAt from `claimedAt` to `now` (a turn given again). */
  reclaimQueueEntry(queue: string, seq: number, claimedAt: number, now: number): Promise<boolean>;
  deleteQueueEntry(queue: string, seq: number): Promise<void>;
  countQueueEntries(queue: string): Promise<number>;
}
