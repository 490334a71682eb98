import type { RunningHerald } from "./embedded-server.ts";

/** SIGINT/SIGTERM: finish what is in flight (bounded), then exit. */
export function shutdownOnSignals(server: RunningHerald): void {
  let closing = false;
  const shutdown = (signal: string): void => {
    if (closing) return;
    closing = true;
    console.log(`${signal}: finishing deliveries in flight, then stopping`);
    void server.close().then(() => process.exit(0));
  };
  process.on("SIGINT", () => shutdown("SIGINT"));
  process.on("SIGTERM", () => shutdown("SIGTERM"));
}
