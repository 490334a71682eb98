// Crash safety of emulated AWS under SIGKILL (issue 6): `npm run start:aws-local` is killed at random
// moments of a publish load — the Lambda handlers mid-batch and mid-write, with the emulators beside them —
// and started again on the same data directory. DynamoDB Local (its own, killed with it) and fauxqs keep their state on disk
// (fauxqs writes every SQS change through to SQLite: in-flight jobs come back after their visibility
// timeout, shortened here), so what the restart sees is what AWS would keep when only Lambda dies.
import { describe, it } from "vitest";
import { killUnderLoad, seededRandom } from "../support/crash.ts";
import { tempDir } from "../support/herald.ts";
import { OWN_DYNAMODB_LOCAL, spawnHerald, type HeraldProcess } from "../support/process.ts";
import { Sink } from "../support/sink.ts";

const TOKEN = "crash-aws-kill-token";
const sink = Sink.forSuite();

const start = (dataDir: string): Promise<HeraldProcess> =>
  spawnHerald(process.execPath, ["bin/herald-aws-local.ts"], {
    PORT: "0",
    HERALD_DATA_DIR: dataDir,
    HERALD_TOKEN: TOKEN,
    HERALD_AWS_LOCAL_VISIBILITY_TIMEOUT: "3s",
    ...OWN_DYNAMODB_LOCAL,
  });

describe("SIGKILL under load [aws-local]", () => {
  it("delivers every message that got a 2xx, immediate and delayed, across kills at random moments", async () => {
    const dataDir = tempDir();
    await killUnderLoad({
      label: "aws-local load",
      rounds: 3,
      total: 200,
      concurrency: 8,
      pathPrefix: "/aws-load",
      token: TOKEN,
      sink,
      random: seededRandom("aws-local load"),
      start: () => start(dataDir),
    });
  }, 150_000);
});
