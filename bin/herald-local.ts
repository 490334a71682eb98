// `npm start`: the local Herald server (docs/architecture.md §4). Configuration comes from the environment.
import { buildConsole } from "../console/build.ts";
import { consoleAssetsOf } from "../lambdas/console/console-assets.ts";
import { configFromEnv } from "../lambdas/core/config.ts";
import { startupBanner } from "../lambdas/server/banner.ts";
import { shutdownOnSignals } from "../lambdas/server/shutdown.ts";
import { startLocalServer } from "../lambdas/server/embedded-server.ts";

const env = process.env;
const dataDir = env.HERALD_DATA_DIR || ".herald";
const server = await startLocalServer({
  port: env.PORT === undefined || env.PORT === "" ? 8080 : Number(env.PORT),
  host: env.HERALD_HOST || "127.0.0.1",
  dataDir,
  config: configFromEnv(env, "any"), // local mode delivers to loopback unless HERALD_DESTINATION_POLICY says
  keys: {
    token: env.HERALD_TOKEN,
    readOnlyToken: env.HERALD_READONLY_TOKEN,
    currentSigningKey: env.HERALD_CURRENT_SIGNING_KEY,
    nextSigningKey: env.HERALD_NEXT_SIGNING_KEY,
  },
  // Built from console/ on the first GET /console.
  consoleAssets: async () => consoleAssetsOf(await buildConsole()),
});
const keys = await server.context.keys.signingKeys();
const { token, readOnlyToken } = server;
console.log(startupBanner({ title: "Herald", url: server.url, token, readOnlyToken, keys, dataDir }));
shutdownOnSignals(server);
