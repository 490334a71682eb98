// The template emulated AWS starts from, kept on disk between starts. Synthesizing the stack takes 3–6 s on
// a 2-core machine, nearly all of it loading aws-cdk-lib (a second synthesis in the same process takes
// about 0.3 s), and every start of `npm run start:aws-local` paid it: the tests start emulated AWS about
// forty times. A start whose settings and stack code are those of an earlier start reads that start's
// template instead. The key covers everything the template is made from — the variables that change the
// stack (emulated-stack.ts, StackInputs), the stack's sources (lib/, the lambdas/ modules it reads its constants from, emulated-stack.ts) and the
// aws-cdk-lib version — so any change of them synthesizes again. No library keys a cache by a source tree's
// content in a few lines (the CDK's own asset hashing stages files), hence this.
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/** What the template is made from, besides the variables: read for the key on every start (a few ms). */
export const STACK_SOURCES = [
  "lib",
  "lambdas",
  "console/build-options.ts",
  "emulation/emulated-stack.ts",
  "node_modules/aws-cdk-lib/package.json",
].map((path) => join(ROOT, path));

export const DEFAULT_TEMPLATE_CACHE_DIR = join(ROOT, "node_modules", ".cache", "herald-templates");

/** Templates kept: a new one beyond these removes the least recently written. */
const KEPT = 32;

function addSources(hash: ReturnType<typeof createHash>, path: string): void {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    hash.update(`${path}\0absent\0`);
    return;
  }
  if (stat.isDirectory()) {
    for (const name of readdirSync(path).sort()) addSources(hash, join(path, name));
    return;
  }
  hash.update(`${path}\0`);
  hash.update(readFileSync(path));
  hash.update("\0");
}

/** The key of a template: the stack's inputs and the content of every source. */
export function templateKey(inputs: unknown, sources: readonly string[]): string {
  const hash = createHash("sha256");
  hash.update(JSON.stringify(inputs));
  for (const source of sources) addSources(hash, source);
  return hash.digest("hex");
}

export interface TemplateCacheOptions<T> {
  /** What the template is synthesized from besides the sources (JSON): the stack's inputs. */
  inputs: unknown;
  synthesize: () => Promise<T>;
  dir?: string;
  sources?: readonly string[];
}

/**
 * The template of these inputs and sources: read from the cache, or synthesized and written there. A
 * cache that cannot be read or written (a read-only checkout, a file cut short) is synthesized past.
 */
export async function cachedTemplate<T>(options: TemplateCacheOptions<T>): Promise<T> {
  const dir = options.dir ?? DEFAULT_TEMPLATE_CACHE_DIR;
  const file = join(dir, `${templateKey(options.inputs, options.sources ?? STACK_SOURCES)}.json`);
  try {
    return JSON.parse(readFileSync(file, "utf8")) as T;
  } catch {
    // not cached yet, or unreadable: synthesized below
  }
  const template = await options.synthesize();
  try {
    mkdirSync(dir, { recursive: true });
    // Written whole, then renamed: a concurrent start reads the old file or the new one, never half of one.
    const partial = `${file}.${process.pid}.partial`;
    writeFileSync(partial, JSON.stringify(template));
    renameSync(partial, file);
    prune(dir);
  } catch {
    // a cache that cannot be written costs the next start a synthesis, nothing else
  }
  return template;
}

function prune(dir: string): void {
  const templates = readdirSync(dir)
    .filter((name) => name.endsWith(".json"))
    .map((name) => ({ path: join(dir, name), written: statSync(join(dir, name)).mtimeMs }))
    .sort((a, b) => b.written - a.written);
  for (const old of templates.slice(KEPT)) rmSync(old.path, { force: true });
}
