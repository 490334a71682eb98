// The benchmark's processes: helpers (client, sink, ceiling, relay) forked with an IPC channel, and Herald
// itself started as `npm start` starts it (`node bin/herald-local.ts`). Each runs in its own process so
// none of them shares an event loop with what it measures.
import { fork, spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/**
 * CPU time (user + system) a process has used so far, in ms, from /proc (Linux; NaN elsewhere). Clock ticks
 * are taken as 100 per second, the Linux default, so the resolution is 10 ms.
 */
export function cpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

interface Reply {
  id: number;
  result?: unknown;
  error?: string;
}

/** A forked helper that answers `{ id, ...command }` messages with `{ id, result }`. */
export class Helper {
  readonly name: string;
  readonly port: number;
  readonly pid: number;
  private readonly child: ChildProcess;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(name: string, child: ChildProcess, port: number) {
    this.name = name;
    this.child = child;
    this.port = port;
    this.pid = child.pid as number;
    child.on("message", (raw) => {
      const reply = raw as Reply;
      const waiter = this.pending.get(reply.id);
      if (!waiter) return;
      this.pending.delete(reply.id);
      if (reply.error !== undefined) waiter.reject(new Error(`${name}: ${reply.error}`));
      else waiter.resolve(reply.result);
    });
    child.on("exit", (code, signal) => {
      for (const waiter of this.pending.values()) waiter.reject(new Error(`${name} exited (${code ?? signal})`));
      this.pending.clear();
    });
  }

  /** Forks `bench/local/<file>` and waits for its `{ type: "ready", port }`. */
  static async start(name: string, file: string, args: string[] = [], execArgv: string[] = []): Promise<Helper> {
    const child = fork(fileURLToPath(new URL(file, import.meta.url)), args, {
      cwd: REPO_ROOT,
      execArgv,
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name} did not start`)), 20_000);
      child.once("message", (m) => {
        clearTimeout(timer);
        resolve((m as { port: number }).port);
      });
      child.once("exit", (code) => reject(new Error(`${name} exited with ${code} while starting`)));
    });
    return new Helper(name, child, port);
  }

  call<T>(command: Record<string, unknown>): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ ...command, id });
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    this.child.kill("SIGTERM");
    await exited;
  }
}

/** Child side of `Helper`: reports readiness, then answers commands. */
export function serveCommands(port: number, handle: (command: Record<string, unknown>) => Promise<unknown>): void {
  const send = (message: unknown): void => {
    process.send?.(message);
  };
  process.on("message", (raw) => {
    const command = raw as Record<string, unknown> & { id: number };
    handle(command).then(
      (result) => send({ id: command.id, result }),
      (error: unknown) => send({ id: command.id, error: error instanceof Error ? error.message : String(error) }),
    );
  });
  process.on("disconnect", () => process.exit(0)); // the controller went away
  process.on("SIGTERM", () => process.exit(0));
  send({ type: "ready", port });
}

export interface HeraldChild {
  url: string;
  token: string;
  pid: number;
  /** The child process (with an IPC channel when started with `ipc: true`). */
  child: ChildProcess;
  /** SIGTERM, then waits for Herald's own graceful shutdown (which also writes a --cpu-prof profile). */
  stop(): Promise<void>;
}

/** Starts `node bin/herald-local.ts` (what `npm start` runs) on a free port with a fresh data directory. */
export async function startHerald(options: {
  dataDir: string;
  token: string;
  execArgv?: string[];
  env?: Record<string, string>;
  /** Open an IPC channel to the child (for a probe preloaded with `--import`, see bench/soak/probe.ts). */
  ipc?: boolean;
}): Promise<HeraldChild> {
  const child = spawn(process.execPath, [...(options.execArgv ?? []), "bin/herald-local.ts"], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      ...options.env,
      PORT: "0",
      HERALD_HOST: "127.0.0.1",
      HERALD_DATA_DIR: options.dataDir,
      HERALD_TOKEN: options.token,
    },
    stdio: options.ipc ? ["ignore", "pipe", "pipe", "ipc"] : ["ignore", "pipe", "pipe"],
  });
  // Piped in both stdio layouts.
  const stdout = child.stdout as Readable;
  const stderr = child.stderr as Readable;
  let output = "";
  stdout.on("data", (d: Buffer) => (output += d.toString()));
  stderr.on("data", (d: Buffer) => (output += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Herald did not start:\n${output}`)), 30_000);
    const check = (): void => {
      const m = /Herald is listening on (http:\/\/\S+)/.exec(output);
      if (!m) return;
      clearTimeout(timer);
      stdout.off("data", check);
      resolve(m[1] as string);
    };
    stdout.on("data", check);
    child.once("exit", (code) => reject(new Error(`Herald exited with ${code}:\n${output}`)));
  });
  // Keep draining its output (errors would otherwise fill the pipe), but keep only the tail.
  stdout.on("data", () => (output = output.slice(-20_000)));
  // Never leave a Herald behind if this process ends without stopping it.
  const killOnExit = (): void => void child.kill("SIGKILL");
  process.once("exit", killOnExit);
  return {
    url,
    token: options.token,
    pid: child.pid as number,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
        child.once("exit", (code, signal) => {
          clearTimeout(timer);
          process.off("exit", killOnExit);
          if (code !== 0 && signal !== "SIGTERM")
            process.stderr.write(`Herald exited with ${code ?? signal}:\n${output.slice(-2000)}\n`);
          resolve();
        });
        child.kill("SIGTERM");
      }),
  };
}
