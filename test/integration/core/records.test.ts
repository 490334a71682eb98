import { afterAll, expect, it, vi } from "vitest";
import { closeDatabase, openDatabase } from "../../../lambdas/adapters/embedded/sqlite-schema.ts";
import { SqliteStore } from "../../../lambdas/adapters/embedded/sqlite-store.ts";
import { updateRecord } from "../../../lambdas/core/records.ts";
import { tempDir } from "../../support/herald.ts";

// Group commit of one record's changes within a process (lambdas/core/records.ts), on the real SQLite store.
const db = openDatabase(tempDir());
afterAll(() => closeDatabase(db));

interface Tally {
  order: number[];
}

it("commits changes made at once in one read and one write after the first, in call order", async () => {
  const store = new SqliteStore(db);
  const reads = vi.spyOn(store, "getRecord");
  const writes = vi.spyOn(store, "swapRecord");
  const results = await Promise.all(
    Array.from({ length: 10 }, (_, i) =>
      updateRecord<Tally>({ store }, "flowControl", "group", (current) => ({ order: [...(current?.order ?? []), i] })),
    ),
  );
  // The first change commits alone; the nine made while it ran commit together.
  expect(reads).toHaveBeenCalledTimes(2);
  expect(writes).toHaveBeenCalledTimes(2);
  expect((await store.getRecord<Tally>("flowControl", "group"))?.value.order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  // Each caller sees the record as its own change left it.
  expect(results.map((r) => r?.order.length)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
});

it("rejects only the caller whose change throws; a change that returns nothing sees its group's earlier ones", async () => {
  const store = new SqliteStore(db);
  const add = (n: number) =>
    updateRecord<Tally>({ store }, "flowControl", "throws", (current) => ({ order: [...(current?.order ?? []), n] }));
  const writes = vi.spyOn(store, "swapRecord");
  const first = add(1); // commits alone; the rest wait for it and commit as one group
  const second = add(2);
  const unchanged = updateRecord<Tally>({ store }, "flowControl", "throws", () => undefined);
  const failing = updateRecord<Tally>({ store }, "flowControl", "throws", () => {
    throw new Error("not allowed");
  });
  const last = add(3);
  await expect(failing).rejects.toThrow("not allowed");
  expect((await first)?.order).toEqual([1]);
  expect((await second)?.order).toEqual([1, 2]);
  expect((await unchanged)?.order).toEqual([1, 2]); // 2 was not stored yet when it ran: its group's value
  expect((await last)?.order).toEqual([1, 2, 3]);
  expect(writes).toHaveBeenCalledTimes(2);
  expect((await store.getRecord<Tally>("flowControl", "throws"))?.value.order).toEqual([1, 2, 3]);
});

it("applies the group again on top of another process's write that came in between, without reading it again", async () => {
  const store = new SqliteStore(db);
  const otherProcess = new SqliteStore(db);
  await updateRecord<Tally>({ store }, "flowControl", "race", () => ({ order: [0] }));
  const getRecord = store.getRecord.bind(store);
  let interleaved = false;
  const reads = vi.spyOn(store, "getRecord").mockImplementation(async (kind, name) => {
    const read = await getRecord(kind, name);
    if (!interleaved) {
      interleaved = true; // the other writer commits after this read, before this process's write
      await updateRecord<Tally>({ store: otherProcess }, "flowControl", "race", (c) => ({ order: [...c!.order, 99] }));
    }
    return read as never;
  });
  const results = await Promise.all(
    [1, 2].map((n) =>
      updateRecord<Tally>({ store }, "flowControl", "race", (current) => ({ order: [...(current?.order ?? []), n] })),
    ),
  );
  expect(interleaved).toBe(true);
  expect(results.at(-1)?.order).toEqual([0, 99, 1, 2]);
  // The lost race answered with the other process's record: the group's retry did not read it again.
  expect(reads).toHaveBeenCalledTimes(1);
  expect((await otherProcess.getRecord<Tally>("flowControl", "race"))?.value.order).toEqual([0, 99, 1, 2]);
});

it("fails one change when a group's read fails; the others commit in the next group", async () => {
  const store = new SqliteStore(db);
  const getRecord = store.getRecord.bind(store);
  vi.spyOn(store, "getRecord")
    .mockImplementationOnce(getRecord) // the first change's, alone
    .mockRejectedValueOnce(new Error("throttled")) // the group of the three made while it ran
    .mockImplementation(getRecord);
  const add = (n: number) =>
    updateRecord<Tally>({ store }, "flowControl", "fails", (current) => ({ order: [...(current?.order ?? []), n] }));
  const alone = add(1);
  const [failed, second, third] = [add(2), add(3), add(4)];
  expect(await alone).toEqual({ order: [1] });
  await expect(failed).rejects.toThrow("throttled");
  expect(await second).toEqual({ order: [1, 3] });
  expect(await third).toEqual({ order: [1, 3, 4] });
  expect(await add(5)).toEqual({ order: [1, 3, 4, 5] });
});
