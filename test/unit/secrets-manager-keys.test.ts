// The keys adapter against the Secrets Manager stand-in used by emulated AWS (ClientRequestToken
// idempotency as Secrets Manager documents it).
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SecretsManagerKeys } from "../../lambdas/adapters/aws/secrets-manager-keys.ts";
import { EmulatedSecretsManager } from "../../lambdas/local/emulated-secrets-manager.ts";
import { tempDir } from "../support/herald.ts";

const secretsManager = () => new EmulatedSecretsManager(join(tempDir(), "secret.json"), { token: "deploy-token" });

describe("SecretsManagerKeys", () => {
  it("generates the signing keys once, even when two containers start together", async () => {
    const client = secretsManager();
    const a = new SecretsManagerKeys({ client, secretId: "s" });
    const b = new SecretsManagerKeys({ client, secretId: "s" });
    const [ka, kb] = await Promise.all([a.signingKeys(), b.signingKeys()]);
    expect(ka).toEqual(kb);
    expect(ka.current).toMatch(/^sig_/);
    expect(await a.apiTokens()).toEqual(["deploy-token"]);
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
