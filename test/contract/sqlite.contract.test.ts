// Every store-side contract on SQLite (aws.contract.test.ts runs the same specs on DynamoDB).
import { rmSync } from "node:fs";
import { openDatabase } from "../../lambdas/adapters/embedded/sqlite-schema.ts";
import { SqliteJobQueue } from "../../lambdas/adapters/embedded/sqlite-job-queue.ts";
import { tempDir } from "../support/herald.ts";
import { openSqlite } from "../support/sqlite-fixture.ts";
import { bulkCancelContract } from "./bulk-cancel.spec.ts";
import { carriedMessagesContract } from "./carried-messages.spec.ts";
import { deliveryRacesContract } from "./delivery-races.spec.ts";
import { dispatcherContract } from "./dispatcher.spec.ts";
import { flowControlLanesContract } from "./flow-control-lanes.spec.ts";
import { flowControlRecoveryContract } from "./flow-control-recovery.spec.ts";
import { queueLanesContract } from "./queue-lanes.spec.ts";
import { queueRecoveryContract } from "./queue-recovery.spec.ts";
import { scheduleFiringsContract } from "./schedule-firings.spec.ts";
import { storeContract } from "./store.spec.ts";
import { sweepContract } from "./sweep.spec.ts";
import { workflowEventsContract } from "./workflow-events.spec.ts";
import { workflowStepsContract } from "./workflow-steps.spec.ts";

storeContract("SQLite", openSqlite);
sweepContract("SQLite", openSqlite);
deliveryRacesContract("SQLite", openSqlite);
bulkCancelContract("SQLite", openSqlite);
queueRecoveryContract("SQLite", openSqlite);
scheduleFiringsContract("SQLite", openSqlite);
queueLanesContract("SQLite", openSqlite);
flowControlRecoveryContract("SQLite", openSqlite);
flowControlLanesContract("SQLite", openSqlite);
carriedMessagesContract("SQLite", openSqlite);
workflowStepsContract("SQLite", openSqlite);
workflowEventsContract("SQLite", openSqlite);

dispatcherContract("SQLite job queue", async () => {
  const dir = tempDir();
  const db = openDatabase(dir);
  const queue = new SqliteJobQueue(db, { now: () => Date.now() }, { handlerFailureBackoffMs: 200 });
  return {
    dispatcher: queue,
    consume: (handler) => queue.start(handler),
    async close() {
      await queue.stop();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
