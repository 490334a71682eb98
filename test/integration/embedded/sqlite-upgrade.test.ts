// A data directory written by an earlier version (messages without log columns, every CREATED entry an
// event row, the messages_state index) opens, keeps its log, and continues it in order.
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { expect, it } from "vitest";
import { closeDatabase, openDatabase } from "../../../lambdas/adapters/embedded/sqlite-schema.ts";
import { SqliteStore } from "../../../lambdas/adapters/embedded/sqlite-store.ts";
import { newMessageId } from "../../../lambdas/core/ids.ts";
import type { DlqEntry } from "../../../lambdas/core/message.ts";
import { sampleMessage } from "../../contract/store.spec.ts";
import { testDir } from "../../support/herald.ts";
import { putRecord } from "../../../lambdas/core/records.ts";

it("opens a data directory of the earlier schema with its log intact, and continues the log after it", async () => {
  const dir = testDir();
  const now = Date.now();
  const old = sampleMessage({ messageId: newMessageId(now), createdAt: now, notBefore: now });
  const { body: _body, ...meta } = old;
  const before = new DatabaseSync(join(dir, "herald.sqlite"));
  before.exec(`
    CREATE TABLE messages (
      id TEXT PRIMARY KEY, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
      state TEXT NOT NULL, retried INTEGER NOT NULL, meta TEXT NOT NULL, body BLOB NOT NULL);
    CREATE INDEX messages_state ON messages(state, created_at, id);
    CREATE TABLE events (
      seq INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL, message_id TEXT NOT NULL,
      state TEXT NOT NULL, detail TEXT, response_body BLOB);
    CREATE TABLE queue_entries (
      queue TEXT NOT NULL, seq INTEGER NOT NULL, message_id TEXT NOT NULL, parked INTEGER NOT NULL,
      PRIMARY KEY (queue, seq));`);
  before
    .prepare("INSERT INTO messages VALUES (?, ?, ?, 'CREATED', 0, ?, ?)")
    .run(old.messageId, now, now, JSON.stringify(meta), old.body);
  // Seq 40 was the last one used (its row is gone): the log must not hand it out again.
  before
    .prepare("INSERT INTO events (seq, time, message_id, state) VALUES (39, ?, ?, 'CREATED')")
    .run(now, old.messageId);
  before.prepare("INSERT INTO events (seq, time, message_id, state) VALUES (40, ?, 'msg_gone', 'ACTIVE')").run(now);
  before.exec("DELETE FROM events WHERE seq = 40");
  before.close();

  const db = openDatabase(dir);
  const store = new SqliteStore(db);
  const next = sampleMessage({ messageId: newMessageId(now), createdAt: now, notBefore: now });
  expect(
    await store.createMessage(next, { state: "CREATED", retried: 0 }, [
      { time: now, messageId: next.messageId, state: "CREATED" },
    ]),
  ).toBe(true);
  await store.appendEvents([{ time: now, messageId: old.messageId, state: "ACTIVE" }]);

  const log: [string, string, string][] = [];
  for await (const { position, item } of store.scanEvents({ order: "earliestFirst", fromTime: now })) {
    log.push([item.event.messageId, item.event.state, position.key ?? ""]);
  }
  expect(log).toEqual([
    [old.messageId, "CREATED", "39"],
    [next.messageId, "CREATED", "41"],
    [old.messageId, "ACTIVE", "42"],
  ]);
  const indexes = db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'messages'")
    .all()
    .map((row) => row.name);
  expect(indexes).not.toContain("messages_state");
  closeDatabase(db);
});

it("reads the DLQ entries of an earlier version (meta as JSON inside the entry's JSON) and keeps them in one shape", async () => {
  const dir = testDir();
  const message = sampleMessage();
  const { body: _body, ...meta } = message;
  const entry: DlqEntry = {
    dlqId: `1900000000000-${message.messageId}`,
    message,
    failedAt: 1_900_000_000_000,
    retried: 3,
    error: "destination answered 500",
    response: { status: 500, header: { "X-Why": ["x"] }, body: new Uint8Array([1, 2, 3]) },
  };
  const before = new DatabaseSync(join(dir, "herald.sqlite"));
  before.exec(`
    CREATE TABLE dlq (
      seq INTEGER PRIMARY KEY AUTOINCREMENT, dlq_id TEXT NOT NULL UNIQUE, failed_at INTEGER NOT NULL,
      entry TEXT NOT NULL, body BLOB NOT NULL, response_body BLOB);`);
  const earlier = {
    dlqId: entry.dlqId,
    failedAt: entry.failedAt,
    retried: entry.retried,
    error: entry.error,
    meta: JSON.stringify(meta),
    response: { status: 500, header: { "X-Why": ["x"] } },
  };
  before
    .prepare("INSERT INTO dlq (dlq_id, failed_at, entry, body, response_body) VALUES (?, ?, ?, ?, ?)")
    .run(entry.dlqId, entry.failedAt, JSON.stringify(earlier), message.body, new Uint8Array([1, 2, 3]));
  before.close();

  for (let open = 0; open < 2; open++) {
    const db = openDatabase(dir); // a second open finds nothing left to change
    const store = new SqliteStore(db);
    expect(await store.getDlq(entry.dlqId)).toEqual(entry);
    const row = db.prepare("SELECT entry FROM dlq WHERE dlq_id = ?").get(entry.dlqId) as { entry: string };
    expect(JSON.parse(row.entry).meta).toEqual(meta);
    closeDatabase(db);
  }
});

it("opens a records table without expires_at and listed_at: old records stay readable, runs are listed", async () => {
  const dir = testDir();
  const before = new DatabaseSync(join(dir, "herald.sqlite"));
  before.exec(`CREATE TABLE records (
    kind TEXT NOT NULL, name TEXT NOT NULL, version INTEGER NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (kind, name));`);
  before.prepare("INSERT INTO records VALUES ('queue', 'q1', 3, ?)").run(JSON.stringify({ parallelism: 2 }));
  before
    .prepare("INSERT INTO records VALUES ('workflowRun', 'run-old', 1, ?)")
    .run(JSON.stringify({ runId: "run-old", createdAt: 1_500 }));
  before.close();

  const db = openDatabase(dir);
  const store = new SqliteStore(db);
  expect(await store.getRecord("queue", "q1")).toEqual({ value: { parallelism: 2 }, version: 3 });
  await putRecord(store, "workflowRun", "run-a", { runId: "run-a" }, undefined, { listedAt: 1_000 });
  await putRecord(store, "workflowRun", "run-b", { runId: "run-b" }, undefined, { listedAt: 2_000 });
  const listed: string[] = [];
  for await (const { item } of store.scanRecords<{ runId: string }>("workflowRun", { order: "latestFirst" })) {
    listed.push(item.runId);
  }
  expect(listed).toEqual(["run-b", "run-old", "run-a"]); // the earlier run, by its creation
  closeDatabase(db);
});
