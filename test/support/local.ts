// Real local adapters for tests below the HTTP layer: a core context on SQLite, or a local server with
// a recording sink, each on an injectable clock.
import { afterAll, afterEach } from "vitest";
import { TimerCronTrigger } from "../../lambdas/adapters/embedded/timer-cron-trigger.ts";
import { SqliteKeys } from "../../lambdas/adapters/embedded/sqlite-keys.ts";
import { openDatabase } from "../../lambdas/adapters/embedded/sqlite-schema.ts";
import { SqliteJobQueue } from "../../lambdas/adapters/embedded/sqlite-job-queue.ts";
import { SqliteStore } from "../../lambdas/adapters/embedded/sqlite-store.ts";
import { NodeHttpSender } from "../../lambdas/adapters/http/http-sender.ts";
import { DEFAULT_CONFIG } from "../../lambdas/core/config.ts";
import type { HeraldContext } from "../../lambdas/core/context.ts";
import { startLocalServer, type LocalServer } from "../../lambdas/server/embedded-server.ts";
import type { Dispatcher } from "../../lambdas/ports.ts";
import { tempDir } from "./herald.ts";
import { Sink } from "./sink.ts";

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

export interface LocalWithSink {
  herald: LocalServer;
  sink: Sink;
  /** Plain HTTP against the API with the token. */
  api(path: string, init?: RequestInit): Promise<Response>;
}

/** Returns a starter of a local server plus sink per test (stopped after each test). */
export function useLocalWithSink(): (clock: { now(): number }) => Promise<LocalWithSink> {
  let running: LocalWithSink | undefined;
  afterEach(async () => {
    await running?.herald.close();
    await running?.sink.close();
    running = undefined;
  });
  return async (clock) => {
    const sink = await Sink.start();
    const herald = await startLocalServer({ port: 0, dataDir: tempDir(), clock, cronTimers: false });
    const api = (path: string, init: RequestInit = {}) =>
      fetch(`${herald.url}${path}`, {
        ...init,
        headers: { Authorization: `Bearer ${herald.token}`, ...(init.headers as Record<string, string>) },
      });
    running = { herald, sink, api };
    return running;
  };
}
