// Builds the console in memory (npm start, npm run start:aws-local, tests): the same esbuild options as the
// stack's bundling (build-options.ts). Dev tooling: esbuild is a dev dependency, never in a Lambda bundle.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { build } from "esbuild";
import { CONSOLE_SCRIPT, CONSOLE_STATIC } from "./build-options.ts";

/** File name → bytes, for consoleAssetsOf (lambdas/console/console-assets.ts). */
export async function buildConsole(): Promise<Record<string, Uint8Array>> {
  const script = CONSOLE_SCRIPT;
  const result = await build({
    entryPoints: [script.entry],
    bundle: true,
    minify: true,
    format: script.format,
    target: script.target,
    legalComments: "none",
    logLevel: "warning",
    write: false,
    outfile: script.outName,
  });
  const files: Record<string, Uint8Array> = {};
  for (const file of result.outputFiles) files[basename(file.path)] = file.contents;
  for (const path of CONSOLE_STATIC) files[basename(path)] = new Uint8Array(await readFile(path));
  return files;
}

/** Writes the built console into `dir`, as the stack's bundling lays it out next to the API Lambda. */
export async function writeConsole(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const files = await buildConsole();
  await Promise.all(Object.entries(files).map(([name, body]) => writeFile(join(dir, name), body)));
}
