// `npm run start:aws-local`: the real Lambda handlers and AWS adapters on DynamoDB Local + fauxqs.
import { configFromEnv } from "../lambdas/core/config.ts";
import { startAwsLocal } from "../emulation/emulated-aws-server.ts";
import { startupBanner } from "../lambdas/server/banner.ts";
import { shutdownOnSignals } from "../lambdas/server/shutdown.ts";

const env = process.env;
configFromEnv(env, "any"); // fail fast on invalid HERALD_* values, before the emulators start
const dataDir = env.HERALD_DATA_DIR || ".herald-aws";
const port = env.PORT === undefined || env.PORT === "" ? 8080 : Number(env.PORT);
const server = await startAwsLocal({
  port,
  // With HERALD_RAW_PATH_ENDPOINT=true the stack has a Function URL too: it listens on the next port.
  rawPathPort: port === 0 ? 0 : port + 1,
  host: env.HERALD_HOST || "127.0.0.1",
  dataDir,
  env: Object.fromEntries(Object.entries(env).filter(([name]) => name.startsWith("HERALD_"))),
});
const keys = (await (
  await fetch(`${server.url}/v2/keys`, { headers: { Authorization: `Bearer ${server.token}` } })
).json()) as { current: string; next: string };
const { token, readOnlyToken } = server;
console.log(startupBanner({ title: "Herald (emulated AWS)", url: server.url, token, readOnlyToken, keys, dataDir }));
if (server.rawPathUrl) {
  console.log(`The Function URL (rawPathEndpoint: destinations' encoded characters kept) is ${server.rawPathUrl}\n`);
}
shutdownOnSignals(server);
