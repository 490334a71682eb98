// How the Lambda handlers are bundled: one definition, used by the stack (NodejsFunction) and by the
// cold-start bench (bench/cold-start.ts, an esbuild build call), so what is measured is what is deployed.
import { OutputFormat, type BundlingOptions } from "aws-cdk-lib/aws-lambda-nodejs";
import type { BuildOptions } from "esbuild";

/**
 * NodejsFunction `bundling` of every Herald Lambda. CommonJS, not ESM: an ES module that imports a Node.js
 * built-in gets its ESM facade, which reads every export of the built-in and so runs their lazy getters
 * (`node:http` loads the bundled undici for `http.WebSocket`, `node:crypto` webcrypto, `node:fs` its
 * streams and promises…), and importing the CommonJS AWS SDK from ESM adds a parse of each package for
 * its export names: 20-50 ms more init in bench/cold-start.ts. `require` does neither.
 */
export const HERALD_BUNDLING: BundlingOptions = {
  format: OutputFormat.CJS,
  target: "node24",
  minify: true,
  sourceMap: false,
  // The ESM builds of dependencies where there are (they tree-shake better); esbuild converts them.
  mainFields: ["module", "main"],
  // The Lambda Node.js 24 runtime comes with the AWS SDK v3.
  externalModules: ["@aws-sdk/*"],
};

/** The bundling options esbuildOptions() knows how to translate; any other one must be added there first. */
const TRANSLATED = new Set(["format", "target", "minify", "sourceMap", "mainFields", "externalModules", "banner"]);

/**
 * The esbuild build options equivalent to NodejsFunction's for `bundling` (its local bundling runs
 * `esbuild --bundle <entry> --target=… --platform=node --format=… --outfile=… …` from the project root:
 * aws-cdk-lib/aws-lambda-nodejs/lib/bundling.js, buildEsbuildArgs). Throws on an option it does not
 * translate, so the bench cannot silently measure something else than the stack deploys.
 */
export function esbuildOptions(bundling: BundlingOptions, entry: string, outdir: string): BuildOptions {
  const untranslated = Object.keys(bundling).filter((key) => !TRANSLATED.has(key));
  if (untranslated.length > 0) throw new Error(`esbuildOptions does not translate bundling.${untranslated.join(", ")}`);
  if (bundling.sourceMap) throw new Error("esbuildOptions does not translate source maps");
  // NodejsFunction derives a missing target from the function's runtime, which is not known here.
  if (!bundling.target) throw new Error("esbuildOptions needs bundling.target");
  const format = bundling.format ?? OutputFormat.CJS;
  return {
    entryPoints: [entry],
    bundle: true,
    platform: "node",
    target: bundling.target,
    format,
    outfile: `${outdir}/${format === OutputFormat.ESM ? "index.mjs" : "index.js"}`,
    minify: bundling.minify ?? false,
    // NodejsFunction's default for a Node.js 18+ runtime: the runtime's AWS SDK v3.
    external: [...(bundling.externalModules ?? ["@aws-sdk/*"])],
    ...(bundling.banner ? { banner: { js: bundling.banner } } : {}),
    ...(bundling.mainFields ? { mainFields: [...bundling.mainFields] } : {}),
  };
}
