import { existsSync, readFileSync, writeFileSync } from "node:fs";
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  type SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";

/**
 * Secrets Manager has no emulator here either. In emulated AWS this stands in for its client at the SDK
 * boundary, for the two calls Herald makes (GetSecretValue, optionally by VersionId, and PutSecretValue
 * with ClientRequestToken idempotency), keeping the secret in a JSON file so keys survive restarts.
 */
export class EmulatedSecretsManager implements Pick<SecretsManagerClient, "send"> {
  private readonly file: string;
  private readonly versions = new Map<string, string>();

  constructor(file: string, initial?: Record<string, string>) {
    this.file = file;
    if (initial && Object.keys(initial).length > 0) writeFileSync(file, JSON.stringify({ ...this.read(), ...initial }));
  }

  /** Fills in the fields the secret lacks (the stack generates the token at deploy time). */
  ensure(defaults: Record<string, string>): void {
    writeFileSync(this.file, JSON.stringify({ ...defaults, ...this.read() }));
  }

  read(): Record<string, string> {
    return existsSync(this.file) ? (JSON.parse(readFileSync(this.file, "utf8")) as Record<string, string>) : {};
  }

  send = (async (command: unknown) => {
    if (command instanceof GetSecretValueCommand) {
      const version = command.input.VersionId;
      if (version !== undefined) {
        const value = this.versions.get(version);
        if (value === undefined) throw new ResourceNotFoundException({ message: "version not found", $metadata: {} });
        return { SecretString: value, VersionId: version };
      }
      if (!existsSync(this.file)) {
        throw new ResourceNotFoundException({ message: "secret not found", $metadata: {} });
      }
      return { SecretString: readFileSync(this.file, "utf8") };
    }
    if (command instanceof PutSecretValueCommand) {
      const { ClientRequestToken: token, SecretString: value = "" } = command.input;
      if (token !== undefined) {
        const previous = this.versions.get(token);
        if (previous !== undefined && previous !== value) {
          throw new ResourceExistsException({ message: "a version with this token exists", $metadata: {} });
        }
        this.versions.set(token, value);
      }
      writeFileSync(this.file, value);
      return { VersionId: token };
    }
    throw new Error("EmulatedSecretsManager only reads and writes secret values");
  }) as SecretsManagerClient["send"];
}
