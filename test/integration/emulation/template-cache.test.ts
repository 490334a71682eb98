// Emulated AWS reads the template of an earlier start with the same settings and stack code, and
// synthesizes again when either changed (emulation/template-cache.ts).
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { propsOf, stackInputs, stackSettings, synthesizeTemplate } from "../../../emulation/emulated-stack.ts";
import { cachedTemplate, STACK_SOURCES } from "../../../emulation/template-cache.ts";
import { tempDir } from "../../support/herald.ts";

/** The real synthesis, counted, with the inputs these variables make. */
async function countedSynthesis(env: Record<string, string>) {
  const inputs = await stackInputs(env);
  const counter = { runs: 0 };
  const synthesize = async () => {
    counter.runs++;
    return synthesizeTemplate(await propsOf(inputs));
  };
  return { inputs, counter, synthesize };
}

/** One start's way to its template: the cache, or the counted synthesis. */
async function start(env: Record<string, string>, dir: string, sources?: readonly string[]) {
  const { inputs, counter, synthesize } = await countedSynthesis(env);
  const template = await cachedTemplate({ inputs, synthesize, dir, ...(sources ? { sources } : {}) });
  return { template, synthesized: counter.runs };
}

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

  // The stack's code changed: synthesized again, though the variables are the first start's.
  writeFileSync(source, "export const version = 2;");
  const edited = await start({ HERALD_MAX_TIMEOUT: "30s" }, dir, sources);
  expect(edited.synthesized).toBe(1);
  expect(readdirSync(dir).filter((name) => name.endsWith(".json"))).toHaveLength(3);
}, 60_000);

it("synthesizes past a cached template cut short, and writes it whole", async () => {
  const dir = tempDir();
  const env = { HERALD_RETENTION: "3d" };
  expect((await start(env, dir)).synthesized).toBe(1);
  const [file] = readdirSync(dir);
  writeFileSync(join(dir, file as string), '{"Resources": {');
  const retry = await start(env, dir);
  expect(retry.synthesized).toBe(1);
  expect(Object.keys(retry.template.Resources).length).toBeGreaterThan(10);
  expect((await start(env, dir)).synthesized).toBe(0);
}, 60_000);
