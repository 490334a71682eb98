// A stand-in for DynamoDB and Secrets Manager on localhost that answers the first calls' requests at once
// (first-calls.ts): an empty DynamoDB query, the Secrets Manager secret. No network time is measured.
import { createServer, type Server } from "node:http";
import { API_TOKEN, LAMBDA_ENV } from "./lambda-env.ts";

export function startFakeAws(): Promise<Server> {
  const secret = {
    token: API_TOKEN,
    readOnlyToken: "bench-read-only-token",
    currentSigningKey: "sig_benchcurrent",
    nextSigningKey: "sig_benchnext",
  };
  const answers: Record<string, unknown> = {
    "DynamoDB_20120810.Query": { Items: [], Count: 0, ScannedCount: 0 },
    "secretsmanager.GetSecretValue": {
      ARN: LAMBDA_ENV.HERALD_SECRET_ARN,
      Name: "herald-keys",
      SecretString: JSON.stringify(secret),
    },
  };
  const server = createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      const target = String(request.headers["x-amz-target"] ?? "");
      const answer = answers[target];
      response.writeHead(answer ? 200 : 400, { "content-type": "application/x-amz-json-1.0" });
      response.end(
        JSON.stringify(answer ?? { __type: "BenchUnexpectedRequest", message: `bench: no answer for ${target}` }),
      );
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}
