// The console's files (index.html, app.js, console.css) as the API serves them: read once, gzipped once.
import { join } from "node:path";

/** Every file the console has, with its media type. The build (console/build-options.ts) makes exactly these. */
export const CONSOLE_FILES: Readonly<Record<string, string>> = {
  "index.html": "text/html; charset=utf-8",
  "app.js": "text/javascript; charset=utf-8",
  "console.css": "text/css; charset=utf-8",
  "favicon.svg": "image/svg+xml",
};

export interface ConsoleAsset {
  contentType: string;
  body: Uint8Array;
  /** The same bytes gzipped, sent to clients that accept gzip (API Gateway's HTTP API does not compress). */
  gzip: Uint8Array;
  etag: string;
}

/** File name (`app.js`) → asset. */
export type ConsoleAssets = ReadonlyMap<string, ConsoleAsset>;

/** Loads the console's assets on first use; each platform gives one (or none: /console answers 404). */
export type ConsoleAssetSource = () => Promise<ConsoleAssets>;

/**
 * The assets of a console build. Node's zlib, crypto and fs are loaded here, on the first GET /console, not
 * when the API Lambda starts (its init time is a target: BENCHMARKS.md).
 */
export async function consoleAssetsOf(files: Readonly<Record<string, Uint8Array>>): Promise<ConsoleAssets> {
  const [{ createHash }, { gzipSync }] = await Promise.all([import("node:crypto"), import("node:zlib")]);
  const assets = new Map<string, ConsoleAsset>();
  for (const [name, contentType] of Object.entries(CONSOLE_FILES)) {
    const body = files[name];
    if (!body) throw new Error(`the console build has no ${name}`);
    const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`;
    assets.set(name, { contentType, body, gzip: gzipSync(body, { level: 9 }), etag });
  }
  return assets;
}

/** Reads a built console from `dir` (on Lambda, the `console/` directory the bundling put next to index.js). */
export async function readConsoleAssets(dir: string): Promise<ConsoleAssets> {
  const { readFile } = await import("node:fs/promises");
  const names = Object.keys(CONSOLE_FILES);
  const bodies = await Promise.all(names.map((name) => readFile(join(dir, name))));
  return consoleAssetsOf(Object.fromEntries(names.map((name, i) => [name, new Uint8Array(bodies[i] as Buffer)])));
}

/** Runs `load` once; a failed load is tried again on the next request instead of being kept. */
export function loadOnce(load: ConsoleAssetSource): ConsoleAssetSource {
  let loading: Promise<ConsoleAssets> | undefined;
  return () => {
    loading ??= load().catch((error: unknown) => {
      loading = undefined;
      throw error;
    });
    return loading;
  };
}
