// Emulated AWS with faults injected where the emulation lets a test reach in (emulation/emulated-aws-server.ts
// hooks, never production code): an SDK middleware on the Lambdas' AWS clients, and a wrapper around each
// delivery invocation. Lambda-shaped failures only; SQS and DynamoDB themselves stay up, as on AWS.
//
// An API invocation "dies" at a chosen point: from then on every AWS request it makes fails at once, so no
// write of it lands after that point, and it answers 5xx (API Gateway's answer for a crashed Lambda).
// Failing rather than hanging matters in emulation: the handlers' containers are one shared context here,
// and work of other invocations that passes through the dead one (a shared SQS send batch, a log page)
// must fail visibly (its own caller then answers 5xx, or keeps the events), not hang the whole process.
import { SQSClient } from "@aws-sdk/client-sqs";
import { Client } from "@upstash/qstash";
import type { SQSBatchItemFailure, SQSRecord } from "aws-lambda";
import {
  currentInvocation,
  startAwsLocal,
  type AwsLocalHerald,
  type Invocation,
} from "../../emulation/emulated-aws-server.ts";
import { EMULATOR_CREDENTIALS, EMULATOR_REGION } from "../../emulation/emulators.ts";
import { tempDir } from "./herald.ts";

type AroundDeliver = (
  records: SQSRecord[],
  invoke: () => Promise<SQSBatchItemFailure[]>,
) => Promise<SQSBatchItemFailure[]>;

export interface FaultyAws {
  herald: AwsLocalHerald;
  /** The official SDK on the API, no retries. */
  client: Client;
  /** A client of the SQS emulator itself (not counted as Herald's). */
  sqs: SQSClient;
  /**
   * The next API invocation whose AWS requests mention `marker` dies once `cutAfter` of its requests (counted
   * from the invocation's start) have been answered: the last write lands, nothing after it does, and
   * the client gets a 5xx. Resolves with the invocation's requests up to then.
   */
  killApiAfter(marker: string, cutAfter: number): Promise<string[]>;
  /** Drops an armed death that no invocation took (it made fewer requests than `cutAfter`). */
  disarm(marker: string): void;
  /** Every AWS request of a delivery invocation that mentions `marker` throws: a job that always crashes. */
  crashJobsMentioning(marker: string): void;
  /** Replaces how delivery invocations run (default: as they are). */
  aroundDeliver: AroundDeliver | undefined;
  close(): Promise<void>;
}

type Handler = (args: { input: unknown }) => Promise<unknown>;
/** The part of an AWS SDK v3 client the middleware needs (as in bench/aws-cost/sdk-counting.ts). */
interface Instrumentable {
  middlewareStack: {
    add(
      middleware: (next: Handler, context: { commandName?: string }) => Handler,
      options: { step: "initialize"; name: string },
    ): void;
  };
}

interface InvocationState {
  requests: string[];
  fault?: { cutAfter: number; report: (requests: string[]) => void };
  dead: boolean;
}

class ProcessDied extends Error {
  constructor() {
    super("injected crash: the API Lambda's process died");
  }
}

function mentions(input: unknown, marker: string): boolean {
  try {
    return JSON.stringify(input).includes(marker);
  } catch {
    return false;
  }
}

/** Starts emulated AWS in this process with a short SQS visibility timeout and the fault hooks. */
export async function startFaultyAws(options: {
  token: string;
  visibilityTimeout?: string;
  /** The stack's `messageRecords` (default: the stack's, `full`). */
  messageRecords?: "full" | "lean";
}): Promise<FaultyAws> {
  const armed: { marker: string; cutAfter: number; report: (requests: string[]) => void }[] = [];
  const crashing = new Set<string>();
  const states = new WeakMap<Invocation, InvocationState>();
  const faulty = {} as FaultyAws;
  // The injected deaths log an error each; keep the output to what the tests report.
  process.env.POWERTOOLS_LOG_LEVEL ??= "CRITICAL";
  const herald = await startAwsLocal({
    port: 0,
    dataDir: tempDir("herald-crash-aws-"),
    env: {
      HERALD_TOKEN: options.token,
      HERALD_AWS_LOCAL_VISIBILITY_TIMEOUT: options.visibilityTimeout ?? "2s",
      ...(options.messageRecords ? { HERALD_MESSAGE_RECORDS: options.messageRecords } : {}),
    },
    onInvoke: () => undefined, // makes currentInvocation() known to the middleware
    aroundDeliver: (records, invoke) => (faulty.aroundDeliver ? faulty.aroundDeliver(records, invoke) : invoke()),
    instrument: (client, owner) => {
      if (owner !== "lambda") return;
      (client as unknown as Instrumentable).middlewareStack.add(
        (next, context) => async (args) => {
          const invocation = currentInvocation();
          if (invocation?.fn === "deliver") {
            for (const marker of crashing) {
              if (mentions(args.input, marker)) throw new Error(`injected crash on a job of ${marker}`);
            }
            return next(args);
          }
          if (invocation?.fn !== "api") return next(args);
          let state = states.get(invocation);
          if (!state) states.set(invocation, (state = { requests: [], dead: false }));
          if (state.dead) throw new ProcessDied();
          if (!state.fault) {
            // By the request's path (a destination is there, and may be compressed in every write) or by what
            // a write holds in the clear (a deduplication id).
            const i = armed.findIndex((f) => invocation.path?.includes(f.marker) || mentions(args.input, f.marker));
            if (i >= 0) state.fault = armed.splice(i, 1)[0];
          }
          const dies = (): boolean => {
            if (!state.fault || state.requests.length < state.fault.cutAfter) return false;
            state.dead = true;
            state.fault.report([...state.requests]);
            return true;
          };
          if (dies()) throw new ProcessDied();
          const result = await next(args);
          state.requests.push(context.commandName as string);
          if (dies()) throw new ProcessDied();
          return result;
        },
        { step: "initialize", name: "crashTestFaults" },
      );
    },
  });
  return Object.assign(faulty, {
    herald,
    client: new Client({ baseUrl: herald.url, token: herald.token, retry: false }),
    sqs: new SQSClient({
      region: EMULATOR_REGION,
      credentials: EMULATOR_CREDENTIALS,
      endpoint: herald.emulators.sqsEndpoint,
    }),
    killApiAfter: (marker: string, cutAfter: number) =>
      new Promise<string[]>((report) => armed.push({ marker, cutAfter, report })),
    disarm: (marker: string) => {
      const i = armed.findIndex((f) => f.marker === marker);
      if (i >= 0) armed.splice(i, 1);
    },
    crashJobsMentioning: (marker: string) => void crashing.add(marker),
    aroundDeliver: undefined,
    close: async () => {
      faulty.sqs.destroy();
      await herald.close();
    },
  });
}
