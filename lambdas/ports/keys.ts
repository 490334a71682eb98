export interface SigningKeys {
  current: string;
  next: string;
}

/** "write" tokens may call every route; "read" tokens (QStash's read-only tokens) only the reading ones. */
export type Access = "read" | "write";

export interface ApiToken {
  value: string;
  access: Access;
}

export interface Keys {
  /** Tokens that may call the API: the deployment's token and its read-only token. */
  apiTokens(): Promise<ApiToken[]>;
  signingKeys(): Promise<SigningKeys>;
  /** next becomes current; a fresh key becomes next. */
  rotateSigningKeys(): Promise<SigningKeys>;
}
