import { SHARED_DYNAMODB_LOCAL_ENV } from "../../emulation/emulators.ts";
import { spawn, type ChildProcess } from "node:child_process";

export interface HeraldProcess {
  child: ChildProcess;
  url: string;
  output: () => string;
  /** Kills the whole process group (npm and the node it started). */
  kill(signal: NodeJS.Signals): Promise<void>;
}

/**
 * For a spawned `npm run start:aws-local` that a test kills: it starts a DynamoDB Local of its own (files in
 * its data directory, in its process group) instead of using the run's shared one, so a SIGKILL takes the
 * whole emulated deployment down, the JVM too, and the restart reads what DynamoDB Local kept on disk.
 */
export const OWN_DYNAMODB_LOCAL: Record<string, string> = { [SHARED_DYNAMODB_LOCAL_ENV]: "" };

/** Runs a command that starts Herald (e.g. `npm start`) in its own process group and waits for its URL. */
export async function spawnHerald(
  command: string,
  args: string[],
  env: Record<string, string>,
  // Emulated AWS synthesizes the stack (and starts a JVM, with OWN_DYNAMODB_LOCAL) before it listens:
  // several seconds on a calm 2-core machine, more while another test file runs beside it.
  startTimeoutMs = 60_000,
): Promise<HeraldProcess> {
  const child = spawn(command, args, {
    env: { ...process.env, ...env },
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Herald did not start:\n${output}`)), startTimeoutMs);
    const check = (): void => {
      const m = /Herald(?: \(emulated AWS\))? is listening on (http:\/\/\S+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    };
    child.stdout?.on("data", check);
    child.once("exit", (code) => reject(new Error(`Herald exited with ${code}:\n${output}`)));
  });
  return {
    child,
    url,
    output: () => output,
    kill: (signal) =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        process.kill(-(child.pid as number), signal);
      }),
  };
}
