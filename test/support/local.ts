// Real local adapters for tests below the HTTP layer: a core context on SQLite.
import { afterAll } from "vitest";
import { TimerCronTrigger } from "../../lambdas/adapters/embedded/timer-cron-trigger.ts";
import { SqliteKeys } from "../../lambdas/adapters/embedded/sqlite-keys.ts";
import { openDatabase } from "../../lambdas/adapters/embedded/sqlite-schema.ts";
import { SqliteJobQueue } from "../../lambdas/adapters/embedded/sqlite-job-queue.ts";
import { SqliteStore } from "../../lambdas/adapters/embedded/sqlite-store.ts";
import { NodeHttpSender } from "../../lambdas/adapters/http/http-sender.ts";
import { DEFAULT_CONFIG } from "../../lambdas/core/config.ts";
import type { HeraldContext } from "../../lambdas/core/context.ts";
import type { Dispatcher } from "../../lambdas/ports.ts";
import { tempDir } from "./herald.ts";

/**
 * A core context on the local adapters; its job queue is never started, so nothing is delivered.
 * `dispatcher` may wrap the real one (to fail on demand). Closed after the test file.
 */
export function localContext(wrap: (jobs: Dispatcher) => Dispatcher = (jobs) => jobs): HeraldContext {
  const db = openDatabase(tempDir());
  const clock = { now: () => Date.now() };
  const sender = new NodeHttpSender({ destinations: DEFAULT_CONFIG.destinations, maxResponseBodyBytes: 1024 });
  afterAll(() => {
    sender.close();
    db.close();
  });
  return {
    store: new SqliteStore(db),
    dispatcher: wrap(new SqliteJobQueue(db, clock)),
    keys: new SqliteKeys(db),
    sender,
    clock,
    cron: new TimerCronTrigger(clock),
    config: DEFAULT_CONFIG,
  };
}
