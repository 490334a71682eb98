// The soak's publisher, in its own process: the official @upstash/qstash SDK (fetch, keep-alive) with a
// bounded number of publishes in flight. The mix repeats every 1,000 messages:
//   200 in 4 batch publishes of 50 (`batchJSON`), immediate;
//    90 single publishes with `delay` 1–5 s;
//    10 to /fail-once/… (the sink answers 500 to the first attempt, so Herald retries after its backoff);
//    10 with a callback to the sink;
//   690 immediate single publishes.
// Commands (IPC): run {baseUrl, token, sinkUrl, messages, concurrency} → LoadResult; progress.
import { Client } from "@upstash/qstash";
import { serveCommands } from "../local/processes.ts";

export interface LoadResult {
  /** Ids Herald answered 2xx for, each a message the sink must receive. */
  accepted: string[];
  /** Of those, the ids published with a callback (the sink must receive one callback for each). */
  withCallback: string[];
  /** Messages whose publish failed (no 2xx), by error text. */
  failed: Record<string, number>;
  singlePublishes: number;
  batchPublishes: number;
  delayed: number;
  failOnce: number;
  startedAt: number;
  doneAt: number;
}

const CYCLE = 1000;
const BATCH_SIZE = 50;
const BATCHED = 200;

type Unit =
  | { kind: "batch"; count: number }
  | { kind: "immediate" }
  | { kind: "delayed"; delaySec: number }
  | { kind: "fail-once" }
  | { kind: "callback" };

/** The unit of work that starts at message index `i`. */
function unitAt(i: number, total: number): Unit {
  const r = i % CYCLE;
  if (r < BATCHED) return { kind: "batch", count: Math.min(BATCH_SIZE, total - i) };
  if (r < 290) return { kind: "delayed", delaySec: 1 + (i % 5) };
  if (r < 300) return { kind: "fail-once" };
  if (r < 310) return { kind: "callback" };
  return { kind: "immediate" };
}

let published = 0;
let inFlight = 0;

async function run(command: {
  baseUrl: string;
  token: string;
  sinkUrl: string;
  messages: number;
  concurrency: number;
}): Promise<LoadResult> {
  const client = new Client({ baseUrl: command.baseUrl, token: command.token, retry: false });
  const { sinkUrl, messages } = command;
  const result: LoadResult = {
    accepted: [],
    withCallback: [],
    failed: {},
    singlePublishes: 0,
    batchPublishes: 0,
    delayed: 0,
    failOnce: 0,
    startedAt: Date.now(),
    doneAt: 0,
  };
  const fail = (error: unknown, count: number): void => {
    const text = error instanceof Error ? error.message.slice(0, 200) : String(error);
    result.failed[text] = (result.failed[text] ?? 0) + count;
  };
  const body = (i: number) => ({ soak: i, text: "a small JSON body, as a webhook would carry" });
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < messages) {
      const i = next;
      const unit = unitAt(i, messages);
      next += unit.kind === "batch" ? unit.count : 1;
      inFlight++;
      try {
        if (unit.kind === "batch") {
          result.batchPublishes++;
          const responses = await client.batchJSON(
            Array.from({ length: unit.count }, (_, k) => ({ url: `${sinkUrl}/batch/${k}`, body: body(i + k) })),
          );
          for (const r of responses) result.accepted.push(r.messageId);
        } else {
          result.singlePublishes++;
          // Only the sink's /callback path is for callbacks; a message that asks for one goes elsewhere.
          const path = unit.kind === "callback" ? "with-callback" : unit.kind;
          const url = `${sinkUrl}/${path}/${i % CYCLE}`;
          const r = await client.publishJSON({
            url,
            body: body(i),
            ...(unit.kind === "delayed" ? { delay: unit.delaySec } : {}),
            ...(unit.kind === "callback" ? { callback: `${sinkUrl}/callback` } : {}),
          });
          result.accepted.push(r.messageId);
          if (unit.kind === "callback") result.withCallback.push(r.messageId);
          if (unit.kind === "delayed") result.delayed++;
          if (unit.kind === "fail-once") result.failOnce++;
        }
      } catch (error) {
        fail(error, unit.kind === "batch" ? unit.count : 1);
      } finally {
        inFlight--;
        published += unit.kind === "batch" ? unit.count : 1;
      }
    }
  };
  await Promise.all(Array.from({ length: command.concurrency }, worker));
  result.doneAt = Date.now();
  return result;
}

serveCommands(0, async (command) => {
  switch (command.type) {
    case "run":
      return run(command as unknown as Parameters<typeof run>[0]);
    case "progress":
      return { published, inFlight };
    default:
      throw new Error(`unknown command ${String(command.type)}`);
  }
});
