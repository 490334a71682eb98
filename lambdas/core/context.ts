import type { Clock, CronTrigger, Dispatcher, HttpSender, Keys, Store } from "../ports.ts";
import type { ConsoleAssetSource } from "../console/console-assets.ts";
import type { HeraldConfig } from "./config.ts";

/** What the use cases of core run against; each platform assembles one. */
export interface HeraldContext {
  store: Store;
  dispatcher: Dispatcher;
  keys: Keys;
  sender: HttpSender;
  clock: Clock;
  cron: CronTrigger;
  config: HeraldConfig;
  /** The web console's files (GET /console); without it /console answers 404. */
  consoleAssets?: ConsoleAssetSource;
}
