// The template emulated AWS starts from, kept on disk between starts. Synthesizing the stack takes 3–6 s on
// a 2-core machine, nearly all of it loading aws-cdk-lib (a second synthesis in the same process takes
// about 0.3 s), and every start of `npm run start:aws-local` paid it: `npm test` starts emulated AWS 44
// times, with 7 different stacks. A start whose stack inputs and stack code are those of an earlier start
// reads that start's template instead. The key covers what the template is made from: the variables that
// change the stack (StackInputs in emulated-stack.ts), the CDK's own CDK_* variables (CDK_CONTEXT_JSON
// changes feature flags), the sources the stack is built from (STACK_SOURCES; a test checks it against the
// stack's imports) and the versions of aws-cdk-lib and constructs. No library keys a cache by a source
// tree's content in a few lines (the CDK's asset hashing stages files), hence this.
import { createHash, randomUUID } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { CfnTemplate } from "./emulated-stack.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/** What the template is made from, besides its inputs: hashed on every start (a few ms). */
export const STACK_SOURCES = [
  "lib",
  "lambdas",
  "console/build-options.ts",
  "emulation/emulated-stack.ts",
  "node_modules/aws-cdk-lib/package.json",
  "node_modules/constructs/package.json",
].map((path) => join(ROOT, path));

export const DEFAULT_TEMPLATE_CACHE_DIR = join(ROOT, "node_modules", ".cache", "herald-templates");

/** Templates kept: a new one beyond these removes the least recently used. */
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

function sourcesHash(sources: readonly string[]): string {
  const hash = createHash("sha256");
  for (const source of sources) addSources(hash, source);
  return hash.digest("hex");
}

/** The key of a template: the stack's inputs, the CDK's variables and the sources' hash. */
function templateKey(inputs: unknown, sources: string): string {
  const cdkVariables = Object.entries(process.env)
    .filter(([name]) => name.startsWith("CDK_"))
    .sort(([a], [b]) => a.localeCompare(b));
  return createHash("sha256")
    .update(JSON.stringify([inputs, cdkVariables, sources]))
    .digest("hex");
}

/**
 * The sources as this process loaded them (by list of sources): Node keeps the modules it loaded, so a
 * synthesis in this process is of that code, whatever the files say later. The stack's own sources are
 * hashed as this module loads, beside the stack's modules that emulated AWS imports at start; a list of
 * other sources (the tests') at its first synthesis.
 */
const loadedSources = new Map<string, string>([[STACK_SOURCES.join("\0"), sourcesHash(STACK_SOURCES)]]);

export interface TemplateCacheOptions {
  /** What the template is synthesized from besides the sources (JSON): the stack's inputs. */
  inputs: unknown;
  synthesize: () => Promise<CfnTemplate>;
  dir?: string;
  sources?: readonly string[];
}

function readCached(file: string): CfnTemplate | undefined {
  try {
    const template = JSON.parse(readFileSync(file, "utf8")) as Partial<CfnTemplate> | null;
    if (typeof template?.Resources !== "object" || template.Resources === null) return undefined;
    const now = new Date();
    utimesSync(file, now, now); // used: kept longer than templates not read since
    return template as CfnTemplate;
  } catch {
    return undefined; // not cached yet, or unreadable: synthesized
  }
}

/**
 * The template of these inputs and sources: read from the cache, or synthesized and written there. A
 * cache that cannot be read or written (a read-only checkout, a file cut short) is synthesized past.
 */
export async function cachedTemplate(options: TemplateCacheOptions): Promise<CfnTemplate> {
  const dir = options.dir ?? DEFAULT_TEMPLATE_CACHE_DIR;
  const sources = options.sources ?? STACK_SOURCES;
  const before = sourcesHash(sources);
  const file = join(dir, `${templateKey(options.inputs, before)}.json`);
  const cached = readCached(file);
  if (cached) return cached;
  const list = sources.join("\0");
  if (!loadedSources.has(list)) loadedSources.set(list, before);
  const template = await options.synthesize();
  // Written only when the code synthesized is the code the key names: not when a source changed while it
  // loaded, nor when this process loaded its modules before a change.
  if (sourcesHash(sources) !== before || loadedSources.get(list) !== before) return template;
  try {
    mkdirSync(dir, { recursive: true });
    // Written whole, then renamed: a concurrent start reads the old file or the new one, never half of one.
    const partial = `${file}.${randomUUID()}.partial`;
    writeFileSync(partial, JSON.stringify(template));
    renameSync(partial, file);
    prune(dir);
  } catch {
    // a cache that cannot be written costs the next start a synthesis, nothing else
  }
  return template;
}

/** Keeps the KEPT most recently used templates, and drops what a start killed mid-write left. */
function prune(dir: string): void {
  const entries = readdirSync(dir).map((name) => ({
    name,
    path: join(dir, name),
    used: statSync(join(dir, name)).mtimeMs,
  }));
  const stale = Date.now() - 60_000;
  for (const partial of entries.filter((e) => e.name.endsWith(".partial") && e.used < stale)) {
    rmSync(partial.path, { force: true });
  }
  const templates = entries.filter((e) => e.name.endsWith(".json")).sort((a, b) => b.used - a.used);
  for (const old of templates.slice(KEPT)) rmSync(old.path, { force: true });
}
