// The local store's purge: log entries go after the retention whether they are event rows or the CREATED
// entries kept in message rows; a message still pending stays, finished ones go.
import { expect, it } from "vitest";
import { closeDatabase, openDatabase } from "../../../lambdas/adapters/embedded/sqlite-schema.ts";
import { SqliteStore } from "../../../lambdas/adapters/embedded/sqlite-store.ts";
import { newMessageId } from "../../../lambdas/core/ids.ts";
import type { Message } from "../../../lambdas/core/message.ts";
import { sampleMessage } from "../../contract/store.spec.ts";
import { testDir } from "../../support/herald.ts";
import { putRecord } from "../../../lambdas/core/records.ts";

it("drops log entries older than the retention, CREATED entries of pending messages included", async () => {
  const dir = testDir();
  const db = openDatabase(dir);
  const store = new SqliteStore(db);
  const day = 86_400_000;
  const now = Date.now();
  const at = (time: number): Message =>
    sampleMessage({ messageId: newMessageId(time), createdAt: time, notBefore: time });
  const create = (message: Message) =>
    store.createMessage(message, { state: "CREATED", retried: 0 }, [
      { time: message.createdAt, messageId: message.messageId, state: "CREATED" },
    ]);
  const oldPending = at(now - 10 * day); // a long delay, still waiting
  const oldDone = at(now - 9 * day);
  const recent = at(now - day);
  for (const message of [oldPending, oldDone, recent]) await create(message);
  await store.updateStatus(oldDone.messageId, { state: "CREATED", retried: 0 }, { state: "DELIVERED", retried: 0 }, [
    { time: oldDone.createdAt + 1000, messageId: oldDone.messageId, state: "DELIVERED" },
  ]);

  store.purge(now - 7 * day);

  const log: string[] = [];
  for await (const { item } of store.scanEvents({ order: "earliestFirst" })) {
    log.push(`${item.event.messageId === recent.messageId ? "recent" : item.event.messageId} ${item.event.state}`);
  }
  expect(log).toEqual(["recent CREATED"]);
  expect((await store.getMessage(oldPending.messageId))?.status.state).toBe("CREATED");
  expect(await store.getMessage(oldDone.messageId)).toBeUndefined();
  closeDatabase(db);
});

it("drops records past their expiry (ended workflow runs) and keeps the others", async () => {
  const dir = testDir();
  const db = openDatabase(dir);
  const store = new SqliteStore(db);
  const now = Date.now();
  await putRecord(store, "workflowRun", "ended-long-ago", { state: "RUN_SUCCESS" }, undefined, {
    expiresAt: now - 1_000,
  });
  await putRecord(store, "workflowRun", "ended-recently", { state: "RUN_SUCCESS" }, undefined, {
    expiresAt: now + 60_000,
  });
  await putRecord(store, "workflowRun", "running", { state: "RUN_STARTED" }, undefined);
  // A compare-and-set that ends a run gives it its expiry; one without an expiry clears it.
  await putRecord(store, "queue", "q", { n: 1 }, undefined, { expiresAt: now - 1_000 });
  await putRecord(store, "queue", "q", { n: 2 }, 1);

  store.purge(now - 7 * 86_400_000);

  expect(await store.getRecord("workflowRun", "ended-long-ago")).toBeUndefined();
  expect((await store.getRecord("workflowRun", "ended-recently"))?.value).toEqual({ state: "RUN_SUCCESS" });
  expect((await store.getRecord("workflowRun", "running"))?.value).toEqual({ state: "RUN_STARTED" });
  expect((await store.getRecord("queue", "q"))?.value).toEqual({ n: 2 });
  closeDatabase(db);
});
