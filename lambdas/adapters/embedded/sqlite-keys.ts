import { Statements } from "./sqlite-statements.ts";
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { newApiToken, newSigningKey } from "../../core/ids.ts";
import type { ApiToken, Keys, SigningKeys } from "../../ports.ts";

export interface SqliteKeysOptions {
  token?: string | undefined;
  readOnlyToken?: string | undefined;
  currentSigningKey?: string | undefined;
  nextSigningKey?: string | undefined;
}

/**
 * Tokens and signing keys for local mode: taken from the environment when given, otherwise generated
 * once and kept in the data directory's database, so receivers keep verifying across restarts.
 * Values from the environment win at every start (rotate, then update your environment).
 */
export class SqliteKeys implements Keys {
  private readonly db: DatabaseSync;
  private readonly statements: Statements;
  private token: string;
  private readOnly: string;
  private keys: SigningKeys;

  constructor(db: DatabaseSync, options: SqliteKeysOptions = {}) {
    this.db = db;
    this.statements = new Statements(db);
    this.token = options.token || this.read("token") || newApiToken();
    this.readOnly = options.readOnlyToken || this.read("readOnlyToken") || newApiToken();
    this.keys = {
      current: options.currentSigningKey || this.read("currentSigningKey") || newSigningKey(),
      next: options.nextSigningKey || this.read("nextSigningKey") || newSigningKey(),
    };
    this.persist();
  }
  private sql(text: string): StatementSync {
    return this.statements.get(text);
  }

  get apiToken(): string {
    return this.token;
  }

  get readOnlyToken(): string {
    return this.readOnly;
  }

  async apiTokens(): Promise<ApiToken[]> {
    return [
      { value: this.token, access: "write" },
      { value: this.readOnly, access: "read" },
    ];
  }

  async signingKeys(): Promise<SigningKeys> {
    return { ...this.keys };
  }

  async rotateSigningKeys(): Promise<SigningKeys> {
    this.keys = { current: this.keys.next, next: newSigningKey() };
    this.persist();
    return { ...this.keys };
  }

  private read(key: string): string | undefined {
    const row = this.sql("SELECT value FROM settings WHERE key = ?").get(key) as { value: string } | undefined;
    return row?.value;
  }

  private persist(): void {
    const upsert = this.sql(
      "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    );
    upsert.run("token", this.token);
    upsert.run("readOnlyToken", this.readOnly);
    upsert.run("currentSigningKey", this.keys.current);
    upsert.run("nextSigningKey", this.keys.next);
  }
}
