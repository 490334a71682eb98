// The WAL checkpointer (a worker thread): it copies committed frames into the database file, and past
// 16 MiB of WAL has the main thread restart the WAL, so the WAL file stays bounded.
import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import type { DatabaseSync } from "node:sqlite";
import { describe, expect, it, vi } from "vitest";
import { startCheckpointer } from "../../../lambdas/adapters/embedded/checkpointer.ts";
import { closeDatabase, openDatabase } from "../../../lambdas/adapters/embedded/sqlite-schema.ts";
import { writeGroup } from "../../../lambdas/adapters/embedded/write-group.ts";
import { testDir } from "../../support/herald.ts";

const MiB = 1024 * 1024;

function open(): { dir: string; db: DatabaseSync } {
  const dir = testDir();
  return { dir, db: openDatabase(dir) };
}

const sizeOf = (file: string): number => (existsSync(file) ? statSync(file).size : 0);

/** One group of `bytes` in 64 KiB rows, committed. */
async function write(db: DatabaseSync, bytes: number, prefix: string): Promise<void> {
  const group = writeGroup(db);
  const put = db.prepare("INSERT INTO settings (key, value) VALUES (?, ?)");
  const value = "x".repeat(64 * 1024);
  for (let i = 0; i < bytes / value.length; i++) group.write(() => put.run(`${prefix}-${i}`, value));
  await group.durable();
}

describe("startCheckpointer", () => {
  it("copies committed WAL frames into the database file from its worker thread", async () => {
    const { dir, db } = open();
    const checkpointer = startCheckpointer(db, dir); // turns the connection's own checkpoints off
    const file = join(dir, "herald.sqlite");
    await write(db, 2 * MiB, "row");
    expect(sizeOf(join(dir, "herald.sqlite-wal"))).toBeGreaterThan(2 * MiB);
    await vi.waitFor(() => expect(sizeOf(file)).toBeGreaterThan(2 * MiB), { timeout: 10_000, interval: 20 });
    await checkpointer.stop();
    closeDatabase(db);
  });

  it("past 16 MiB of WAL, has the main thread run a RESTART checkpoint, so the next write starts the WAL over", async () => {
    const { dir, db } = open();
    const prepare = vi.spyOn(db, "prepare");
    const checkpointer = startCheckpointer(db, dir);
    const wal = join(dir, "herald.sqlite-wal");
    // Nothing is written meanwhile, so the WAL cannot start over by itself: only the RESTART can make it.
    await write(db, 17 * MiB, "row");
    const before = checkpointSequence(wal);
    const size = sizeOf(wal);
    await vi.waitFor(() => expect(prepare).toHaveBeenCalledWith("PRAGMA wal_checkpoint(RESTART)"), {
      timeout: 10_000,
      interval: 20,
    });
    await write(db, MiB, "more");
    expect(checkpointSequence(wal)).toBe(before + 1);
    expect(sizeOf(wal)).toBe(size); // written from its start again, not appended
    await checkpointer.stop();
    closeDatabase(db);
  });
});

/** The WAL header's checkpoint sequence number: one more each time the WAL starts over. */
function checkpointSequence(wal: string): number {
  const header = Buffer.alloc(16);
  const fd = openSync(wal, "r");
  try {
    readSync(fd, header, 0, 16, 0);
  } finally {
    closeSync(fd);
  }
  return header.readUInt32BE(12);
}
