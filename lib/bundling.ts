// How the Lambda handlers are bundled: one definition, used by the stack (NodejsFunction) and by the
// cold-start bench (bench/cold-start.ts, an esbuild build call), so what is measured is what is deployed.
import { OutputFormat, type BundlingOptions } from "aws-cdk-lib/aws-lambda-nodejs";
import type { BuildOptions } from "esbuild";

/** NodejsFunction `bundling` of every Herald Lambda. */
export const HERALD_BUNDLING: BundlingOptions = {
  format: OutputFormat.ESM,
  target: "node24",
  minify: true,
  sourceMap: false,
  mainFields: ["module", "main"],
  externalModules: ["@aws-sdk/*"],
  // Some dependencies are CommonJS and call require(): give the ESM bundle one.
  banner: "import{createRequire as __cr}from'module';const require=__cr(import.meta.url);",
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
  const format = bundling.format ?? OutputFormat.CJS;
  return {
    entryPoints: [entry],
    bundle: true,
    platform: "node",
    ...(bundling.target ? { target: bundling.target } : {}),
    format,
    outfile: `${outdir}/${format === OutputFormat.ESM ? "index.mjs" : "index.js"}`,
    minify: bundling.minify ?? false,
    // NodejsFunction's default for a Node.js 18+ runtime: the runtime's AWS SDK v3.
    external: [...(bundling.externalModules ?? ["@aws-sdk/*"])],
    ...(bundling.banner ? { banner: { js: bundling.banner } } : {}),
    ...(bundling.mainFields ? { mainFields: [...bundling.mainFields] } : {}),
  };
}
