// The keys adapter against the Secrets Manager stand-in used by emulated AWS (ClientRequestToken
// idempotency as Secrets Manager documents it).
import { createHash } from "node:crypto";
import { join } from "node:path";
import { PutSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { describe, expect, it } from "vitest";
import { SecretsManagerKeys } from "../../../../lambdas/adapters/aws/secrets-manager-keys.ts";
import { EmulatedSecretsManager } from "../../../../emulation/emulated-secrets-manager.ts";
import { tempDir } from "../../../support/herald.ts";

const secretsManager = () => new EmulatedSecretsManager(join(tempDir(), "secret.json"), { token: "deploy-token" });

describe("SecretsManagerKeys", () => {
  it("generates the signing keys once, even when two containers start together", async () => {
    const client = secretsManager();
    const a = new SecretsManagerKeys({ client, secretId: "s" });
    const b = new SecretsManagerKeys({ client, secretId: "s" });
    const [ka, kb] = await Promise.all([a.signingKeys(), b.signingKeys()]);
    expect(ka).toEqual(kb);
    expect(ka.current).toMatch(/^sig_/);
    const [ta, tb] = await Promise.all([a.apiTokens(), b.apiTokens()]);
    expect(ta).toEqual(tb);
    expect(ta).toEqual([
      { value: "deploy-token", access: "write" },
      { value: expect.stringMatching(/^hrld_/), access: "read" },
    ]);
  });

  it("adds a read-only token to a secret from before read-only tokens, keeping its signing keys", async () => {
    const client = secretsManager();
    // What an earlier version wrote on first use: the keys, under a request token derived from the token.
    const old = { token: "deploy-token", currentSigningKey: "sig_old_current", nextSigningKey: "sig_old_next" };
    const oldRequestToken = createHash("sha256").update("init-deploy-token").digest("hex").slice(0, 64);
    await client.send(
      new PutSecretValueCommand({
        SecretId: "s",
        SecretString: JSON.stringify(old),
        ClientRequestToken: oldRequestToken,
      }),
    );
    const a = new SecretsManagerKeys({ client, secretId: "s" });
    const b = new SecretsManagerKeys({ client, secretId: "s" });
    const [ta, tb] = await Promise.all([a.apiTokens(), b.apiTokens()]);
    expect(ta).toEqual(tb);
    expect(ta[1]).toEqual({ value: expect.stringMatching(/^hrld_/), access: "read" });
    expect(await a.signingKeys()).toEqual({ current: "sig_old_current", next: "sig_old_next" });
    expect(client.read()).toEqual({ ...old, readOnlyToken: ta[1]?.value });
  });

  it("rotates once when two containers rotate together, and others see it after their cache expires", async () => {
    const client = secretsManager();
    let now = 0;
    const a = new SecretsManagerKeys({ client, secretId: "s", now: () => now });
    const b = new SecretsManagerKeys({ client, secretId: "s", now: () => now });
    const reader = new SecretsManagerKeys({ client, secretId: "s", now: () => now, cacheMs: 60_000 });
    const before = await reader.signingKeys();
    const [ra, rb] = await Promise.all([a.rotateSigningKeys(), b.rotateSigningKeys()]);
    expect(ra).toEqual(rb);
    expect(ra.current).toBe(before.next);
    expect(await reader.signingKeys()).toEqual(before); // cached
    now = 60_001;
    expect(await reader.signingKeys()).toEqual(ra);
  });
});
