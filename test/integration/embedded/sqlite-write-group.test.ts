// The local store's group commit (WriteGroup): what a failed write does to the writes around it, seen from
// a second connection, from the job queue and from an HTTP client.
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { closeDatabase, openDatabase } from "../../../lambdas/adapters/embedded/sqlite-schema.ts";
import { writeGroup, type WriteGroup } from "../../../lambdas/adapters/embedded/write-group.ts";
import { SqliteJobQueue } from "../../../lambdas/adapters/embedded/sqlite-job-queue.ts";
import { startHerald, testDir } from "../../support/herald.ts";

function dataDir(): string {
  const dir = testDir();
  return dir;
}
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function settingsSeenFromOutside(dir: string): string[] {
  const reader = new DatabaseSync(join(dir, "herald.sqlite"), { readOnly: true });
  try {
    return reader
      .prepare("SELECT key FROM settings ORDER BY key")
      .all()
      .map((row) => row.key as string);
  } finally {
    reader.close();
  }
}

/**
 * Makes the open group's COMMIT fail, as a full disk would: a row breaking a deferred foreign key is only
 * refused at commit (node:sqlite enforces foreign keys by default).
 */
function failCommitOfThisGroup(db: DatabaseSync, group: WriteGroup): void {
  db.exec(`CREATE TABLE IF NOT EXISTS parent (id INTEGER PRIMARY KEY);
    CREATE TABLE IF NOT EXISTS child (parent INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);`);
  group.write(() => db.prepare("INSERT INTO child (parent) VALUES (42)").run());
}

/** A write after which SQLite itself rolls the whole transaction back, as on a full disk or an I/O error. */
function rollBackFromInside(db: DatabaseSync, group: WriteGroup): void {
  db.exec(`CREATE TRIGGER IF NOT EXISTS disk_full BEFORE INSERT ON settings WHEN NEW.key = 'disk-full'
    BEGIN SELECT RAISE(ROLLBACK, 'disk full'); END`);
  group.write(() => db.prepare("INSERT INTO settings (key, value) VALUES ('disk-full', 'v')").run());
}

/**
 * Runs one job through a SqliteJobQueue whose first attempt does `firstAttempt`; resolves with the message
 * ids of the attempts once a second one ran (the test times out if none does).
 */
async function jobRunsWhenFirstAttempt(
  firstAttempt: (db: DatabaseSync, group: WriteGroup) => unknown,
): Promise<string[]> {
  const db = openDatabase(dataDir());
  const group = writeGroup(db);
  const queue = new SqliteJobQueue(db, { now: () => Date.now() });
  const runs: string[] = [];
  let ranAgain!: () => void;
  const secondRun = new Promise<void>((resolve) => (ranAgain = resolve));
  queue.start(async (job) => {
    runs.push(job.messageId);
    if (runs.length > 1) return ranAgain();
    await firstAttempt(db, group);
  });
  await queue.dispatch({ messageId: "msg_1", retried: 0 }, Date.now());
  await secondRun;
  await queue.stop();
  await nextTurn();
  closeDatabase(db);
  return runs;
}

/** A fresh data directory's database, its write group, and an insert into its settings table. */
function openGroup() {
  const dir = dataDir();
  const db = openDatabase(dir);
  return { dir, db, group: writeGroup(db), put: db.prepare("INSERT INTO settings (key, value) VALUES (?, 'v')") };
}

/** The turn after a lost one commits as usual, and is all that the file holds from the test's writes. */
async function expectTheNextTurnToCommit({ dir, db, group, put }: ReturnType<typeof openGroup>): Promise<void> {
  await nextTurn();
  group.write(() => put.run("later"));
  await group.durable();
  expect(settingsSeenFromOutside(dir)).toEqual(["later"]);
  closeDatabase(db);
}

describe("WriteGroup", () => {
  it("commits the writes of one turn together, and only at the end of the turn", async () => {
    const { dir, db, group, put } = openGroup();
    group.write(() => put.run("a"));
    group.atomic(() => put.run("b"));
    expect(settingsSeenFromOutside(dir)).toEqual([]);
    await group.durable();
    expect(settingsSeenFromOutside(dir)).toEqual(["a", "b"]);
    closeDatabase(db);
  });

  it("undoes an atomic write that fails midway, and only it: the rest of the group commits", async () => {
    const { dir, db, group, put } = openGroup();
    group.write(() => put.run("someone-else's")); // another request's write in the same turn
    const waiter = group.durable();
    expect(() =>
      group.atomic(() => {
        put.run("first half");
        throw new Error("disk full");
      }),
    ).toThrow("disk full");
    await waiter;
    expect(settingsSeenFromOutside(dir)).toEqual(["someone-else's"]);
    expect(group.rollbacks).toBe(0);
    closeDatabase(db);
  });

  it("loses the whole group when its commit fails: waiters rejected, rollbacks counted, the next group commits", async () => {
    const { dir, db, group, put } = openGroup();
    let lost = 0;
    group.onRollback(() => lost++);
    group.write(() => put.run("a"));
    failCommitOfThisGroup(db, group);
    await expect(group.durable()).rejects.toThrow(/FOREIGN KEY/);
    expect(group.rollbacks).toBe(1);
    expect(lost).toBe(1);
    expect(() => group.write(() => put.run("same turn"))).toThrow(/lost this turn's writes/);
    await expectTheNextTurnToCommit({ dir, db, group, put });
  });

  it("loses the whole group when SQLite rolls a statement's transaction back, and fails the rest of the turn", async () => {
    const { dir, db, group, put } = openGroup();
    group.write(() => put.run("a"));
    const waiter = group.durable();
    expect(() => rollBackFromInside(db, group)).toThrow("disk full");
    await expect(waiter).rejects.toThrow("disk full");
    expect(group.rollbacks).toBe(1);
    // An operation that wrote into the lost group must not keep its second half: the turn's writes fail.
    expect(() => group.write(() => put.run("second half"))).toThrow(/lost this turn's writes/);
    await expect(group.durable()).rejects.toThrow(/lost this turn's writes/);
    await expectTheNextTurnToCommit({ dir, db, group, put });
  });

  it("the job queue keeps a job when SQLite rolled back the group its attempt wrote into", async () => {
    const runs = await jobRunsWhenFirstAttempt((db, group) => {
      group.write(() => db.prepare("INSERT INTO settings (key, value) VALUES ('attempt', 'v')").run());
      try {
        rollBackFromInside(db, group); // another chain's write fails this way in the same turn
      } catch {
        // expected
      }
    });
    expect(runs).toEqual(["msg_1", "msg_1"]);
  });

  it("the job queue runs a job again when the group that deleted it was lost", async () => {
    // The job's delete joins this turn's group once the attempt returns; the group's commit then fails.
    const runs = await jobRunsWhenFirstAttempt((db, group) => failCommitOfThisGroup(db, group));
    expect(runs).toEqual(["msg_1", "msg_1"]);
  });

  it("the job queue keeps a job whose attempt's writes were lost while it ran, and runs it again", async () => {
    const runs = await jobRunsWhenFirstAttempt(async (db, group) => {
      failCommitOfThisGroup(db, group); // this attempt's group is lost at the end of the turn
      // The attempt ends turns later: after the group was lost and the turn that lost it is over.
      await new Promise<void>((resolve) => group.onRollback(resolve));
      await nextTurn();
    });
    expect(runs).toEqual(["msg_1", "msg_1"]);
  });
});

describe("local server, when a write fails", () => {
  it("answers 500 JSON, keeps nothing of the failed publish, and goes on serving", async () => {
    const dir = dataDir();
    // A trigger makes the message insert of one publish fail.
    const setup = openDatabase(dir);
    setup.exec(`CREATE TRIGGER fail_marked BEFORE INSERT ON messages WHEN NEW.meta LIKE '%/fail-here%'
      BEGIN SELECT RAISE(ABORT, 'injected failure'); END`);
    closeDatabase(setup);
    const herald = await startHerald({ mode: "local", dataDir: dir });
    try {
      const failed = await herald.api("/v2/publish/http://127.0.0.1:9/fail-here", {
        method: "POST",
        body: "x",
        headers: { "Upstash-Delay": "1h" },
      });
      expect(failed.status).toBe(500);
      expect(await failed.json()).toEqual({ error: "internal error" });

      const ok = await herald.client.publish({ url: "http://127.0.0.1:9/fine", body: "y", delay: 3600 });
      const message = await herald.client.messages.get(ok.messageId);
      expect(message.url).toBe("http://127.0.0.1:9/fine");
    } finally {
      await herald.close();
    }
    const reader = new DatabaseSync(join(dir, "herald.sqlite"), { readOnly: true });
    const urls = reader
      .prepare("SELECT meta FROM messages")
      .all()
      .map((row) => (JSON.parse(row.meta as string) as { url: string }).url);
    reader.close();
    expect(urls).toEqual(["http://127.0.0.1:9/fine"]);
  });
});
