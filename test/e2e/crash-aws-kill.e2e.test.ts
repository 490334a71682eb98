// Crash safety of emulated AWS under SIGKILL (issue 6): `npm run start:aws-local` is killed at random
// moments of a publish load — the Lambda handlers mid-batch and mid-write, with the emulators beside them —
// and started again on the same data directory. DynamoDB Local and fauxqs keep their state on disk
// (fauxqs writes every SQS change through to SQLite: in-flight jobs come back after their visibility
// timeout, shortened here), so what the restart sees is what AWS would keep when only Lambda dies.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publishUntilKilled, seededRandom, waitForAll, type LoadResult } from "../support/crash.ts";
import { tempDir } from "../support/herald.ts";
import { spawnHerald, type HeraldProcess } from "../support/process.ts";
import { Sink } from "../support/sink.ts";

const TOKEN = "crash-aws-kill-token";
let sink: Sink;

beforeAll(async () => {
  sink = await Sink.start();
});
afterAll(async () => {
  await sink.close();
});

const start = (dataDir: string): Promise<HeraldProcess> =>
  spawnHerald(process.execPath, ["bin/herald-aws-local.ts"], {
    PORT: "0",
    HERALD_DATA_DIR: dataDir,
    HERALD_TOKEN: TOKEN,
    HERALD_AWS_LOCAL_VISIBILITY_TIMEOUT: "3s",
  });

describe("SIGKILL under load [aws-local]", () => {
  it("delivers every message that got a 2xx, carried and stored, across kills at random moments", async () => {
    const random = seededRandom("aws-local load");
    const N = 200;
    const ROUNDS = 3;
    const dataDir = tempDir();
    let herald = await start(dataDir);
    const rounds: { path: string; load: LoadResult }[] = [];
    try {
      for (let round = 1; round <= ROUNDS; round++) {
        const path = `/aws-load/${round}`;
        const victim = herald;
        const load = await publishUntilKilled({
          baseUrl: victim.url,
          token: TOKEN,
          url: `${sink.url}${path}`,
          total: N,
          concurrency: 8,
          killAfter: random.int(Math.round(N * 0.15), Math.round(N * 0.85)),
          random,
          kill: () => victim.kill("SIGKILL"),
        });
        console.log(
          `[aws-local load] round ${round}: SIGKILL after ${load.killedAfter} 2xx; sent ${load.sent}, ` +
            `2xx ${load.accepted.length} (${load.delayed.size} delayed), failed ${load.failed}`,
        );
        rounds.push({ path, load });
        herald = await start(dataDir);
      }
      for (const [i, { path, load }] of rounds.entries()) {
        const result = await waitForAll(sink, path, load.accepted, 30_000);
        console.log(
          `[aws-local load] round ${i + 1}: delivered ${load.accepted.length - result.missing.length}/` +
            `${load.accepted.length} accepted, ${result.duplicates} duplicate deliveries, ` +
            `${result.unacknowledged} delivered without a 2xx`,
        );
        expect(result.missing).toEqual([]);
        expect(load.accepted.length).toBeGreaterThan(0);
      }
    } finally {
      await herald.kill("SIGTERM");
    }
  }, 150_000);
});
