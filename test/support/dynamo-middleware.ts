// A test's hand in the DynamoDB requests an adapter sends: a client of the same emulated database with a
// middleware of the AWS SDK's stack, to count requests or to play what DynamoDB can do (fail, lose an
// answer, lag on a replica, leave keys unprocessed).
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EMULATOR_REGION } from "../../emulation/emulators.ts";

/** A request as a middleware sees it (`input` is the command's, `output` what DynamoDB answered). */
export type DynamoHandler = (args: { input: Record<string, unknown> }) => Promise<{ output: Record<string, unknown> }>;
export type DynamoMiddleware = (next: DynamoHandler, context: { commandName?: string }) => DynamoHandler;

/** A second client of `base`'s database (the emulators' database for this file: same endpoint and credentials). */
export async function clientOfDatabase(
  base: DynamoDBClient,
  options: { maxAttempts?: number } = {},
): Promise<DynamoDBClient> {
  const e = (await base.config.endpoint?.()) as { protocol: string; hostname: string; port?: number };
  return new DynamoDBClient({
    endpoint: `${e.protocol}//${e.hostname}:${e.port}`,
    region: EMULATOR_REGION,
    credentials: await base.config.credentials(),
    ...options,
  });
}

/**
 * Adds `middleware` to the client's stack: at `initialize` it sees each request before it is sent (and
 * may answer instead), at `deserialize` each answer as parsed.
 */
export function addDynamoMiddleware(
  client: DynamoDBClient,
  middleware: DynamoMiddleware,
  options: { step: "initialize" | "deserialize"; name: string; priority?: "high" },
): void {
  // The stack's own types are generic over every command's input and output; a test reads them loosely.
  (client.middlewareStack as unknown as { add(m: DynamoMiddleware, o: object): void }).add(middleware, options);
}

/**
 * Makes the client refuse the commands named in the set it returns (`"BatchWriteItemCommand"`), as a
 * DynamoDB outage would: a retryable server error, before anything is written.
 */
export function failingCommands(client: DynamoDBClient): Set<string> {
  const failing = new Set<string>();
  addDynamoMiddleware(
    client,
    (next, context) => async (args) => {
      if (failing.has(context.commandName ?? "")) {
        throw Object.assign(new Error("injected: DynamoDB is failing"), { name: "InternalServerError", $metadata: {} });
      }
      return next(args);
    },
    { step: "initialize", name: "failing" },
  );
  return failing;
}
