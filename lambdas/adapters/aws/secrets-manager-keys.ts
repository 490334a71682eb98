import { createHash } from "node:crypto";
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  type SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import { newApiToken, newSigningKey } from "../../core/ids.ts";
import type { ApiToken, Keys, SigningKeys } from "../../ports.ts";

interface SecretValue {
  token?: string;
  readOnlyToken?: string;
  currentSigningKey?: string;
  nextSigningKey?: string;
}

/** How long a container trusts its cached copy by default: one read a minute, whatever its traffic. */
export const SECRET_CACHE_MS = 60_000;

export interface SecretsManagerKeysOptions {
  client: Pick<SecretsManagerClient, "send">;
  secretId: string;
  /** How long a container trusts its cached copy; rotation reaches other containers within this. */
  cacheMs?: number;
  now?: () => number;
}

/**
 * Tokens and signing keys in one Secrets Manager secret (JSON), cached per container. The stack creates
 * the secret with a generated token (a generated secret has one generated field); the read-only token and
 * the signing keys are generated on first use. Writes carry a
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

  async apiTokens(): Promise<ApiToken[]> {
    const value = await this.load();
    return [
      { value: value.token, access: "write" },
      { value: value.readOnlyToken, access: "read" },
    ];
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
    const cacheMs = this.options.cacheMs ?? SECRET_CACHE_MS;
    if (!fresh && this.cached && this.now() - this.cached.at < cacheMs) return this.cached.value;
    const value = await this.read();
    if (complete(value)) {
      this.cached = { value, at: this.now() };
      return this.cached.value;
    }
    // Seeded with the whole value it completes: a secret from before read-only tokens gets a new version,
    // not the one its first initialization wrote under the same token.
    return this.write(
      {
        token: value.token || newApiToken(),
        readOnlyToken: value.readOnlyToken || newApiToken(),
        currentSigningKey: value.currentSigningKey || newSigningKey(),
        nextSigningKey: value.nextSigningKey || newSigningKey(),
      },
      `init-${JSON.stringify(value)}`,
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
      if (!complete(stored)) throw new Error("the secret version written by another container is incomplete");
      this.cached = { value: stored, at: this.now() };
      return this.cached.value;
    }
  }
}

const complete = (value: SecretValue): value is Required<SecretValue> =>
  Boolean(value.token && value.readOnlyToken && value.currentSigningKey && value.nextSigningKey);
