// The console as the stack deploys it: NodejsFunction's afterBundling hook runs consoleBuildCommands next to
// the API Lambda's index.js, and the handler reads that directory (lambdas/handlers/aws-context.ts).
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { App } from "aws-cdk-lib";
import { describe, expect, it } from "vitest";
import { buildConsole } from "../../console/build.ts";
import { consoleBuildCommands } from "../../console/build-options.ts";
import { CONSOLE_FILES, readConsoleAssets } from "../../lambdas/console/console-assets.ts";
import { HeraldStack } from "../../lib/herald-stack.ts";
import { tempDir } from "../support/herald.ts";

const ROOT = join(import.meta.dirname, "..", "..");

describe("the console in the API Lambda's bundle", () => {
  it("the hook's commands build exactly what the local modes serve", async () => {
    const out = join(tempDir("console-hook-"), "console");
    for (const command of consoleBuildCommands(ROOT, out)) execFileSync("bash", ["-c", command], { cwd: ROOT });
    const deployed = await readConsoleAssets(out);
    const local = await buildConsole();
    for (const name of Object.keys(CONSOLE_FILES)) {
      expect(Buffer.from(deployed.get(name)?.body as Uint8Array)).toEqual(Buffer.from(local[name] as Uint8Array));
    }
  });

  it("a synthesis with bundling puts the console next to the API handler, and nowhere else", () => {
    const outdir = tempDir("console-synth-");
    const app = new App({ outdir });
    new HeraldStack(app, "Herald", { env: { account: "123456789012", region: "eu-west-1" } });
    app.synth();
    const assets = readdirSync(outdir).filter((name) => name.startsWith("asset.") && !name.endsWith(".json"));
    const withConsole = assets.filter((name) => readdirSync(join(outdir, name)).includes("console"));
    expect(withConsole).toHaveLength(1);
    const dir = join(outdir, withConsole[0] as string);
    expect(readdirSync(join(dir, "console")).sort()).toEqual(Object.keys(CONSOLE_FILES).sort());
    // It is the API function's bundle: the one whose code routes /console.
    expect(readFileSync(join(dir, "index.js"), "utf8")).toContain("this Herald serves no console");
  }, 120_000);
});
