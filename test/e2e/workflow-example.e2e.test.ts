// README's workflow example, run as a user runs it (a separate process with the banner's variables),
// against a local Herald: it must finish its run.
import { spawn } from "node:child_process";
import net from "node:net";
import { expect, it } from "vitest";
import { eventually, startHerald } from "../support/herald.ts";

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

it("examples/workflow/app.ts runs its order workflow to the end on npm start's server", async () => {
  const herald = await startHerald();
  try {
    const keys = (await (await herald.api("/v2/keys")).json()) as { current: string; next: string };
    const child = spawn(process.execPath, ["examples/workflow/app.ts"], {
      env: {
        ...process.env,
        QSTASH_URL: herald.server.url,
        QSTASH_TOKEN: herald.server.token,
        QSTASH_CURRENT_SIGNING_KEY: keys.current,
        QSTASH_NEXT_SIGNING_KEY: keys.next,
        PORT: String(await freePort()),
      },
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    try {
      await eventually(() => (/order order-\d+ shipped/.test(output) ? true : undefined), 30_000);
    } finally {
      child.kill();
    }
    await exited;
    expect(output).toMatch(/started run wfr_/);
    expect(output).toMatch(/shipping: total 42, payment \{"amount":42,"currency":"EUR"\}, timed out: false/);
  } finally {
    await herald.close();
  }
}, 60_000);
