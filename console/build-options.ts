// How the console is built: one definition, used in-process by the local modes (console/build.ts) and as an
// esbuild command line by the stack's bundling (lib/api.ts), so what runs locally is what is deployed.
import { join } from "node:path";

/** console/ in this checkout. */
export const CONSOLE_ROOT = import.meta.dirname;

/** The console's script: every module of console/src in one minified ES module (no framework, no imports). */
export const CONSOLE_SCRIPT = {
  entry: join(CONSOLE_ROOT, "src", "main.ts"),
  outName: "app.js",
  format: "esm",
  // Browsers of the last few years; nothing newer is used.
  target: "es2022",
} as const;

/** Files served as they are: the page and its stylesheet. */
export const CONSOLE_STATIC = ["index.html", "console.css", "favicon.svg"].map((name) =>
  join(CONSOLE_ROOT, "static", name),
);

const quote = (value: string): string => `'${value.replaceAll("'", "'\\''")}'`;

/**
 * Shell commands that build the console into `outDir` (NodejsFunction's afterBundling hook runs them in the
 * bundling's output directory): the esbuild CLI the project installs, with the same options as build.ts.
 */
export function consoleBuildCommands(projectRoot: string, outDir: string): string[] {
  const esbuild = join(projectRoot, "node_modules", ".bin", "esbuild");
  const script = CONSOLE_SCRIPT;
  return [
    `mkdir -p ${quote(outDir)}`,
    [
      quote(esbuild),
      quote(script.entry),
      "--bundle",
      "--minify",
      `--format=${script.format}`,
      `--target=${script.target}`,
      "--legal-comments=none",
      "--log-level=warning",
      `--outfile=${quote(join(outDir, script.outName))}`,
    ].join(" "),
    `cp ${CONSOLE_STATIC.map(quote).join(" ")} ${quote(outDir)}`,
  ];
}
