// Emulated AWS reads the template of an earlier start with the same stack inputs and stack code, and
// synthesizes again when either changed (emulation/template-cache.ts).
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { build } from "esbuild";
import { expect, it } from "vitest";
import { propsOf, stackInputs, stackSettings, synthesizeTemplate } from "../../../emulation/emulated-stack.ts";
import { cachedTemplate, STACK_SOURCES } from "../../../emulation/template-cache.ts";
import { tempDir } from "../../support/herald.ts";

/** One start's way to its template: the cache, or the real synthesis (counted). */
async function start(
  env: Record<string, string>,
  dir: string,
  sources?: readonly string[],
  whileSynthesizing?: () => void,
) {
  const inputs = await stackInputs(env);
  let synthesized = 0;
  const synthesize = async () => {
    synthesized++;
    whileSynthesizing?.();
    return synthesizeTemplate(await propsOf(inputs));
  };
  const template = await cachedTemplate({ inputs, synthesize, dir, ...(sources ? { sources } : {}) });
  return { template, synthesized };
}

const cachedFiles = (dir: string) => readdirSync(dir).filter((name) => name.endsWith(".json"));

it("reads the template of the same stack inputs and sources, and synthesizes again when either changed", async () => {
  const dir = tempDir();
  const source = join(tempDir(), "stack.ts");
  writeFileSync(source, "export const version = 1;");
  const sources = [...STACK_SOURCES, source];

  const first = await start({ HERALD_MAX_TIMEOUT: "30s", HERALD_DATA_DIR: "/a", HERALD_TOKEN: "a" }, dir, sources);
  expect(first.synthesized).toBe(1);
  expect(stackSettings(first.template).delivery.timeoutSec).toBe(90); // 30 s plus the minute

  // Another data directory and token do not change the stack: its template is read.
  const again = await start({ HERALD_MAX_TIMEOUT: "30s", HERALD_DATA_DIR: "/b", HERALD_TOKEN: "b" }, dir, sources);
  expect(again.synthesized).toBe(0);
  expect(again.template).toEqual(first.template);

  // Another timeout: another stack.
  const longer = await start({ HERALD_MAX_TIMEOUT: "60s" }, dir, sources);
  expect(longer.synthesized).toBe(1);
  expect(stackSettings(longer.template).delivery.timeoutSec).toBe(120);
  expect(cachedFiles(dir)).toHaveLength(2);

  // The stack's code changed: synthesized again. This process loaded the code before the change, so what
  // it synthesizes is not the changed code's template, and is not kept under the changed code's key.
  writeFileSync(source, "export const version = 2;");
  const edited = await start({ HERALD_MAX_TIMEOUT: "30s" }, dir, sources);
  expect(edited.synthesized).toBe(1);
  expect(cachedFiles(dir)).toHaveLength(2);
  expect((await start({ HERALD_MAX_TIMEOUT: "30s" }, dir, sources)).synthesized).toBe(1);
}, 60_000);

it("keeps no template of a source that changed while it was synthesized", async () => {
  const dir = tempDir();
  const source = join(tempDir(), "stack.ts");
  writeFileSync(source, "export const version = 1;");
  const sources = [...STACK_SOURCES, source];
  const env = { HERALD_BACKOFF_FACTOR: "3" };
  const raced = await start(env, dir, sources, () => writeFileSync(source, "export const version = 2;"));
  expect(raced.synthesized).toBe(1);
  expect(cachedFiles(dir)).toHaveLength(0);
}, 60_000);

it("synthesizes past a cached template cut short or of another shape, and writes it whole", async () => {
  const dir = tempDir();
  const env = { HERALD_RETENTION: "3d" };
  expect((await start(env, dir)).synthesized).toBe(1);
  const [file] = cachedFiles(dir);
  for (const broken of ['{"Resources": {', "{}", "null"]) {
    writeFileSync(join(dir, file as string), broken);
    const retry = await start(env, dir);
    expect(retry.synthesized).toBe(1);
    expect(Object.keys(retry.template.Resources).length).toBeGreaterThan(10);
    expect((await start(env, dir)).synthesized).toBe(0);
  }
}, 60_000);

it("keys on every file the stack is built from: each local import of the stack is under STACK_SOURCES", async () => {
  for (const source of STACK_SOURCES) expect(existsSync(source), source).toBe(true);
  const root = join(import.meta.dirname, "..", "..", "..");
  // What the synthesis imports: the stack and the props' construction, packages left out of the bundle.
  const { metafile } = await build({
    entryPoints: [join(root, "lib", "herald-stack.ts"), join(root, "emulation", "emulated-stack.ts")],
    bundle: true,
    write: false,
    metafile: true,
    platform: "node",
    format: "esm",
    packages: "external",
    outdir: tempDir(),
  });
  const localFiles = Object.keys(metafile.inputs).map((input) => join(root, input));
  expect(localFiles.length).toBeGreaterThan(10);
  for (const file of localFiles) {
    const covered = STACK_SOURCES.some((source) => file === source || file.startsWith(source + sep));
    expect(covered, relative(root, file)).toBe(true);
  }
  const packages = new Set(
    Object.values(metafile.inputs)
      .flatMap((input) => input.imports)
      .filter((imported) => imported.external && !imported.path.startsWith("node:"))
      .map((imported) =>
        imported.path
          .split("/")
          .slice(0, imported.path.startsWith("@") ? 2 : 1)
          .join("/"),
      ),
  );
  // The versions of these are in the key; a package outside them would change the template unseen.
  // (Type-only imports, such as esbuild's and the AWS SDK's types, leave no import in the bundle.)
  expect([...packages].sort()).toEqual(["aws-cdk-lib", "constructs"]);
}, 60_000);
