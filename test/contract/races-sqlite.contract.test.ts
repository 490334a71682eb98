// The race and recovery specs on SQLite (test/contract/races-aws.contract.test.ts runs them on DynamoDB).
import { rmSync } from "node:fs";
import { closeDatabase, openDatabase } from "../../lambdas/adapters/embedded/sqlite-schema.ts";
import { SqliteStore } from "../../lambdas/adapters/embedded/sqlite-store.ts";
import type { CoreFixture } from "../support/core-harness.ts";
import { tempDir } from "../support/herald.ts";
import { carriedMessagesContract } from "./carried-messages.spec.ts";
import { deliveryRacesContract } from "./delivery-races.spec.ts";
import { flowControlRecoveryContract } from "./flow-control-recovery.spec.ts";
import { queueRecoveryContract } from "./queue-recovery.spec.ts";

async function openSqlite(): Promise<CoreFixture> {
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

deliveryRacesContract("SQLite", openSqlite);
queueRecoveryContract("SQLite", openSqlite);
flowControlRecoveryContract("SQLite", openSqlite);
carriedMessagesContract("SQLite", openSqlite);
