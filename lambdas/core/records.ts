import type { RecordKind, RecordStore } from "../ports.ts";

/** Names of URL groups, queues, schedules and flow-control keys (docs/qstash-api.md §1). */
export const RESOURCE_NAME = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * Read-modify-write of one record with compare-and-set, retried on conflict. `change` gets the current
 * value (undefined when absent) and returns the new one, or undefined to write nothing.
 */
export async function updateRecord<T>(
  ctx: { store: RecordStore },
  kind: RecordKind,
  name: string,
  change: (current: T | undefined) => T | undefined,
): Promise<T | undefined> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const current = await ctx.store.getRecord<T>(kind, name);
    const next = change(current?.value);
    if (next === undefined) return current?.value;
    if (await ctx.store.putRecord(kind, name, next, current?.version)) return next;
    // Lost a race with another writer: read again and re-apply the change.
  }
  throw new Error(`could not update ${kind} "${name}": too much contention`);
}
