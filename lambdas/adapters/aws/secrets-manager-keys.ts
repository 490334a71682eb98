import { createHash } from "node:crypto";
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  type SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import { newApiToken, newSigningKey } from "../../core/ids.ts";
import type { Keys, SigningKeys } from "../../ports.ts";

interface SecretValue {
  token?: string;
  currentSigningKey?: string;
  nextSigningKey?: string;
}

export interface SecretsManagerKeysOptions {
  client: Pick<SecretsManagerClient, "send">;
  secretId: string;
  /** How long a container trusts its cached copy; rotation reaches other containers within this. */
  cacheMs?: number;
  now?: () => number;
}

/**
 * Token and signing keys in one Secrets Manager secret (JSON), cached per container. The stack creates
 * the secret with a generated token; the signing keys are generated on first use. Writes carry a
 * ClientRequestToken derived from what they replace, so two containers racing to initialize or rotate
 * produce one new version, and the loser re-reads it.
 */
export class SecretsManagerKeys implements Keys {
  private readonly options: SecretsManagerKeysOptions;
  private readonly now: () => number;
  private cached: { value: Required<SecretValue>; at: number } | undefined;

  constructor(options: SecretsManagerKeysOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
  }

  async apiTokens(): Promise<string[]> {
    return [(await this.load()).token];
  }

  async signingKeys(): Promise<SigningKeys> {
    const value = await this.load();
    return { current: value.currentSigningKey, next: value.nextSigningKey };
  }

  async rotateSigningKeys(): Promise<SigningKeys> {
    const value = await this.load(true);
    const rotated = { ...value, currentSigningKey: value.nextSigningKey, nextSigningKey: newSigningKey() };
    const stored = await this.write(rotated, `rotate-${value.currentSigningKey}`);
    return { current: stored.currentSigningKey, next: stored.nextSigningKey };
  }

  private async load(fresh = false): Promise<Required<SecretValue>> {
    const cacheMs = this.options.cacheMs ?? 60_000;
    if (!fresh && this.cached && this.now() - this.cached.at < cacheMs) return this.cached.value;
    const value = await this.read();
    if (value.token && value.currentSigningKey && value.nextSigningKey) {
      this.cached = { value: value as Required<SecretValue>, at: this.now() };
      return this.cached.value;
    }
    return this.write(
      {
        token: value.token || newApiToken(),
        currentSigningKey: value.currentSigningKey || newSigningKey(),
        nextSigningKey: value.nextSigningKey || newSigningKey(),
      },
      `init-${value.token ?? ""}`,
    );
  }

  private async read(versionId?: string): Promise<SecretValue> {
    const result = await this.options.client.send(
      new GetSecretValueCommand({ SecretId: this.options.secretId, ...(versionId ? { VersionId: versionId } : {}) }),
    );
    return result.SecretString ? (JSON.parse(result.SecretString) as SecretValue) : {};
  }

  private async write(value: Required<SecretValue>, idempotencySeed: string): Promise<Required<SecretValue>> {
    const token = createHash("sha256").update(idempotencySeed).digest("hex").slice(0, 64);
    try {
      await this.options.client.send(
        new PutSecretValueCommand({
          SecretId: this.options.secretId,
          SecretString: JSON.stringify(value),
          ClientRequestToken: token,
        }),
      );
      this.cached = { value, at: this.now() };
      return value;
    } catch (error) {
      if (!(error instanceof ResourceExistsException)) throw error;
      // Another container wrote this version first (with other fresh keys): use exactly what it stored
      // (that version, not a possibly stale "current").
      const stored = await this.read(token);
      if (!stored.token || !stored.currentSigningKey || !stored.nextSigningKey) {
        throw new Error("the secret version written by another container is incomplete");
      }
      this.cached = { value: stored as Required<SecretValue>, at: this.now() };
      return this.cached.value;
    }
  }
}
