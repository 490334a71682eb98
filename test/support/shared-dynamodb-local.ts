// Vitest's global setup: one DynamoDB Local for the whole run. Every emulated Herald and every adapter
// test gets a database of its own in it (by access key, emulation/emulators.ts), instead of starting a JVM
// of its own: each start cost 3–6 s, and each fresh JVM then ran its first requests cold.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SHARED_DYNAMODB_LOCAL_ENV, startDynamoDbLocal } from "../../emulation/emulators.ts";

export default async function startSharedDynamoDbLocal(): Promise<() => Promise<void>> {
  // Files on disk, one per access key (DynamoDB Local's documented layout without -sharedDb).
  const dir = mkdtempSync(join(tmpdir(), "herald-dynamodb-"));
  const dynamo = await startDynamoDbLocal({ path: dir });
  process.env[SHARED_DYNAMODB_LOCAL_ENV] = dynamo.endpoint; // the test workers inherit it
  return async () => {
    await dynamo.stop();
    rmSync(dir, { recursive: true, force: true });
  };
}
