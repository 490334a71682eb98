import { rmSync } from "node:fs";
import { join } from "node:path";
import { SecretsManagerKeys } from "../../lambdas/adapters/aws/secrets-manager-keys.ts";
import { closeDatabase, openDatabase } from "../../lambdas/adapters/embedded/sqlite-schema.ts";
import { SqliteKeys } from "../../lambdas/adapters/embedded/sqlite-keys.ts";
import { EmulatedSecretsManager } from "../../emulation/emulated-secrets-manager.ts";
import { tempDir } from "../support/herald.ts";
import { keysContract } from "./keys.spec.ts";

// npm start: kept in the data directory's database, the token from HERALD_TOKEN.
keysContract("SQLite", async () => {
  const dir = tempDir();
  const db = openDatabase(dir);
  const token = "deploy-token";
  return {
    keys: new SqliteKeys(db, { token }),
    token,
    reopen: () => new SqliteKeys(db, { token }),
    async close() {
      closeDatabase(db);
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

// AWS: one Secrets Manager secret (the emulation's stand-in), created by the stack with its token.
keysContract("Secrets Manager (stand-in)", async () => {
  const dir = tempDir();
  const token = "deploy-token";
  const client = new EmulatedSecretsManager(join(dir, "secret.json"), { token });
  return {
    keys: new SecretsManagerKeys({ client, secretId: "herald" }),
    token,
    reopen: () => new SecretsManagerKeys({ client, secretId: "herald" }),
    async close() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
