import { afterEach, describe, expect, it } from "vitest";
import { awsContext, emulateAws } from "../../../lambdas/handlers/aws-context.ts";
import { ContainerPool, currentContainer } from "../../../emulation/lambda-containers.ts";

/** Two invocations running at once: each holds its container until both have started. */
async function concurrently<T>(pool: ContainerPool, look: () => T): Promise<[T, T]> {
  let arrived = 0;
  let release = (): void => undefined;
  const bothIn = new Promise<void>((resolve) => (release = resolve));
  const invoke = () =>
    pool.run(async () => {
      const seen = look();
      if (++arrived === 2) release();
      await bothIn;
      return seen;
    });
  return Promise.all([invoke(), invoke()]);
}

const unused = { send: () => Promise.reject(new Error("not called")) };
const ENV = {
  HERALD_QUEUE_ARN: "arn:aws:sqs:us-east-1:000000000000:q",
  HERALD_QUEUE_URL: "http://127.0.0.1:1/000000000000/q",
  HERALD_SCHEDULE_GROUP: "g",
  HERALD_SCHEDULER_ROLE_ARN: "arn:aws:iam::000000000000:role/r",
  HERALD_SCHEDULE_DLQ_ARN: "arn:aws:sqs:us-east-1:000000000000:dlq",
  HERALD_TABLE: "t",
  HERALD_BUCKET: "b",
  HERALD_SECRET_ARN: "arn:aws:secretsmanager:us-east-1:000000000000:secret:s",
  AWS_ENDPOINT_URL_DYNAMODB: "http://127.0.0.1:1",
  AWS_ENDPOINT_URL_SQS: "http://127.0.0.1:1",
  AWS_ENDPOINT_URL_S3: "http://127.0.0.1:1",
};

describe("Lambda containers in emulated AWS", () => {
  afterEach(() => emulateAws(undefined));

  it("runs concurrent invocations in separate containers and reuses an idle one", async () => {
    const pool = new ContainerPool();
    const [a, b] = await concurrently(pool, currentContainer);
    expect(a).toBeDefined();
    expect(a).not.toBe(b);
    expect(pool.made).toBe(2);
    const again = await pool.run(async () => currentContainer());
    expect([a, b]).toContain(again); // warm: no third container
    expect(pool.made).toBe(2);
    expect(currentContainer()).toBeUndefined();
  });

  it("gives each container its own Herald context (store, per-process state), kept while it is warm", async () => {
    emulateAws({ env: ENV, scheduler: unused, secretsManager: unused, container: currentContainer });
    const pool = new ContainerPool();
    const [a, b] = await concurrently(pool, () => awsContext().store);
    expect(a).not.toBe(b);
    const again = await pool.run(async () => awsContext().store);
    expect([a, b]).toContain(again);
    expect(() => awsContext()).toThrow(/outside a container/);
  });
});
