// `npm start`: the local Herald server (DESIGN §4). Configuration comes from the environment.
import { configFromEnv } from "../lambdas/core/config.ts";
import { startLocalServer } from "../lambdas/local/server.ts";

const env = process.env;
const server = await startLocalServer({
  port: env.PORT === undefined || env.PORT === "" ? 8080 : Number(env.PORT),
  host: env.HERALD_HOST || "127.0.0.1",
  dataDir: env.HERALD_DATA_DIR || ".herald",
  config: configFromEnv(env),
  keys: {
    token: env.HERALD_TOKEN,
    currentSigningKey: env.HERALD_CURRENT_SIGNING_KEY,
    nextSigningKey: env.HERALD_NEXT_SIGNING_KEY,
  },
  allowPrivateNetworks: env.HERALD_ALLOW_PRIVATE_DESTINATIONS !== "false",
});
const keys = await server.context.keys.signingKeys();

console.log(`Herald is listening on ${server.url} (data in ${env.HERALD_DATA_DIR || ".herald"})

  QSTASH_URL=${server.url}
  QSTASH_TOKEN=${server.token}
  QSTASH_CURRENT_SIGNING_KEY=${keys.current}
  QSTASH_NEXT_SIGNING_KEY=${keys.next}

Publish with the official SDK:

  import { Client } from "@upstash/qstash";
  const client = new Client({ baseUrl: "${server.url}", token: "${server.token}" });
  await client.publishJSON({ url: "http://localhost:3000/api/webhook", body: { hello: "world" } });

or with curl:

  curl -X POST '${server.url}/v2/publish/http://localhost:3000/api/webhook' \\
    -H 'Authorization: Bearer ${server.token}' -H 'Content-Type: application/json' -d '{"hello":"world"}'
`);

let closing = false;
const shutdown = (signal: string): void => {
  if (closing) return;
  closing = true;
  console.log(`${signal}: finishing deliveries in flight, then stopping`);
  void server.close().then(() => process.exit(0));
};
process.on("SIGINT", () => shutdown("SIGINT"));
process.on("SIGTERM", () => shutdown("SIGTERM"));
