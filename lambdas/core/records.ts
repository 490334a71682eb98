import type { RecordKind, RecordPutOptions, RecordStore } from "../ports.ts";
import { processState } from "./process-state.ts";

/** Names of URL groups, queues, schedules and flow-control keys (docs/qstash-api.md §1). */
export const RESOURCE_NAME = /^[A-Za-z0-9._-]{1,128}$/;

/** A record's compare-and-set where only its outcome matters: true when written, false on conflict. */
export async function putRecord<T>(
  store: RecordStore,
  kind: RecordKind,
  name: string,
  value: T,
  expectedVersion: number | undefined,
  options?: RecordPutOptions,
): Promise<boolean> {
  return (await store.swapRecord(kind, name, value, expectedVersion, options)).written;
}

type Change = (current: unknown) => unknown;
interface PendingChange {
  change: Change;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}
/** The changes of one record waiting in this process, and whether a commit of them is under way. */
interface RecordLine {
  committing: boolean;
  waiting: PendingChange[];
}
const lines = processState<RecordLine>(() => ({ committing: false, waiting: [] }));

/**
 * Read-modify-write of one record with compare-and-set, retried on conflict. `change` gets the current
 * value (undefined when absent) and returns the new one, or undefined to write nothing; it may run more
 * than once (on conflict), so it only computes.
 *
 * Changes of one record made at once in this process commit together (group commit): while one read and
 * write of the record is under way, later changes wait, then go in the next write, applied in call
 * order. Without it, the jobs of one delivery batch that share a flow-control key raced each other's
 * compare-and-set — every lost race a billed write and a read more (140 failed writes for 30 messages
 * on 5 slots, BENCHMARKS.md). Writers in other processes still meet the compare-and-set.
 */
export function updateRecord<T>(
  ctx: { store: RecordStore },
  kind: RecordKind,
  name: string,
  change: (current: T | undefined) => T | undefined,
): Promise<T | undefined> {
  const id = `${kind}\n${name}`;
  const line = lines.obtain(ctx.store, id);
  const result = new Promise<T | undefined>((resolve, reject) => {
    line.waiting.push({ change: change as Change, resolve: resolve as (value: unknown) => void, reject });
  });
  if (!line.committing) void commitLine(ctx.store, kind, name, id, line);
  return result;
}

async function commitLine(
  store: RecordStore,
  kind: RecordKind,
  name: string,
  id: string,
  line: RecordLine,
): Promise<void> {
  line.committing = true;
  try {
    while (line.waiting.length > 0) {
      const group = line.waiting.splice(0);
      const failure = await commitGroup(store, kind, name, group);
      if (!failure) continue;
      // A failed read or write (a throttle, a fault) fails one change, as it did before changes were
      // grouped; the others go first in the next group.
      group[0]?.reject(failure.error);
      line.waiting.unshift(...group.slice(1));
    }
  } finally {
    lines.delete(store, id);
  }
}

/**
 * One read, every change applied in order, one conditional write; on conflict, the changes again on the
 * record the failed write met (returned with the failure: no second read). Settles every change of the
 * group, or none and answers why.
 */
async function commitGroup(
  store: RecordStore,
  kind: RecordKind,
  name: string,
  group: PendingChange[],
): Promise<{ error: unknown } | undefined> {
  try {
    // Read once; a lost race answers with the record that won it, which the next try starts from.
    let current = await store.getRecord<unknown>(kind, name);
    for (let attempt = 0; attempt < 100; attempt++) {
      let value = current?.value;
      let changed = false;
      const outcomes = group.map((pending) => {
        try {
          const next = pending.change(value);
          if (next !== undefined) [value, changed] = [next, true];
          return { ok: true as const, value };
        } catch (error) {
          return { ok: false as const, error };
        }
      });
      if (changed) {
        const swap = await store.swapRecord(kind, name, value, current?.version);
        if (!swap.written) {
          current = swap.current; // lost a race with another writer: re-apply the changes on its record
          continue;
        }
      }
      group.forEach((pending, i) => {
        const outcome = outcomes[i]!;
        if (outcome.ok) pending.resolve(outcome.value);
        else pending.reject(outcome.error);
      });
      return undefined;
    }
    return { error: new Error(`could not update ${kind} "${name}": too much contention`) };
  } catch (error) {
    return { error };
  }
}
