// The baseline of the cold-start ratio (issue 5): a bare Lambda entry that only imports and constructs the
// AWS SDK clients a Herald Lambda's context constructs (lambdas/handlers/aws-context.ts, awsContext()),
// with the same packages and the options that change what loads or runs at construction — and nothing
// else: no Powertools, no middy, no Herald code. Both Lambdas build that same context, so both baselines
// are bundled from this file (each as its own bundle, like its Lambda, with lib/bundling.ts's settings).
//
// S3 is left out: awsContext() imports and constructs its client only when a body is too large for an
// item. The clients are constructed at module scope, as a bare Lambda does; Herald constructs them on the
// first invocation instead, so `constructMs` (their construction alone) is reported beside the ratio.
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SchedulerClient } from "@aws-sdk/client-scheduler";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

const start = performance.now();
// aws-context.ts: the same request handler options on every client.
const requestHandler = { connectionTimeout: 3_000, requestTimeout: 10_000 };

export const clients = {
  sqs: new SQSClient({ requestHandler }),
  scheduler: new SchedulerClient({ requestHandler, retryMode: "adaptive", maxAttempts: 5 }),
  // DynamoTable (lambdas/adapters/aws/dynamo-table.ts) wraps the DynamoDB client in a document client.
  dynamo: DynamoDBDocumentClient.from(new DynamoDBClient({ requestHandler }), {
    marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
  }),
  secretsManager: new SecretsManagerClient({ requestHandler }),
};

/** The time the constructors above took, ms (the imports before them are not included). */
export const constructMs = performance.now() - start;
