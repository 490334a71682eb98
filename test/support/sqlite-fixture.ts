// The SQLite store on a fresh temporary database, as a CoreFixture for the harness and the contract specs.
import { rmSync } from "node:fs";
import { closeDatabase, openDatabase } from "../../lambdas/adapters/embedded/sqlite-schema.ts";
import { SqliteStore } from "../../lambdas/adapters/embedded/sqlite-store.ts";
import type { CoreFixture } from "./core-harness.ts";
import { tempDir } from "./herald.ts";

export async function openSqlite(): Promise<CoreFixture> {
  const dir = tempDir();
  const db = openDatabase(dir);
  return {
    store: new SqliteStore(db),
    async close() {
      closeDatabase(db);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
