// State a process keeps in memory per store and key: group commits of a record (records.ts), a
// flow-control key's wake-up and the slots its attempts hold and wait for (flow-control.ts). Keyed by
// the store too, since a process may hold several (tests open one per context); entries go when a
// store does.

/** Entries of type T per store and key, made on first use and deleted when done with. */
export interface ProcessState<T> {
  get(store: object, key: string): T | undefined;
  /** The entry, made with `create` when there is none. */
  obtain(store: object, key: string): T;
  delete(store: object, key: string): void;
}

export function processState<T>(create: () => T): ProcessState<T> {
  const byStore = new WeakMap<object, Map<string, T>>();
  return {
    get: (store, key) => byStore.get(store)?.get(key),
    obtain(store, key) {
      let byKey = byStore.get(store);
      if (!byKey) byStore.set(store, (byKey = new Map()));
      let entry = byKey.get(key);
      if (entry === undefined) byKey.set(key, (entry = create()));
      return entry;
    },
    delete: (store, key) => void byStore.get(store)?.delete(key),
  };
}
