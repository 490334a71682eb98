// Bundles one Lambda entry as the stack does (lib/bundling.ts: the same esbuild options as NodejsFunction,
// run from the project root); returns the bundle's path and size.
import { stat } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { esbuildOptions, HERALD_BUNDLING } from "../../lib/bundling.ts";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export async function bundle(entry: string, outdir: string): Promise<{ file: string; bytes: number }> {
  const options = esbuildOptions(HERALD_BUNDLING, entry, outdir);
  await build({ ...options, absWorkingDir: ROOT, logLevel: "warning" });
  const file = options.outfile as string;
  return { file, bytes: (await stat(file)).size };
}
