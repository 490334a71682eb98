// Lambda's execution environments in emulated AWS (emulated-aws-server.ts).
import { AsyncLocalStorage } from "node:async_hooks";

const containerScope = new AsyncLocalStorage<object>();

/** The container the calling invocation runs in (undefined outside one). */
export const currentContainer = (): object | undefined => containerScope.getStore();

/**
 * A function's execution environments, as Lambda keeps them: an invocation runs in an idle one (warm) or a
 * new one (cold), alone, and leaves it idle for the next; concurrent invocations never share one, nor its
 * memory (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html, "Execution
 * environment lifecycle"; https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html). A
 * container here is an identity the handlers' context is built per (aws-context.ts): this one process
 * runs them all, and without it concurrent invocations shared state no two Lambdas share.
 */
export class ContainerPool {
  private readonly idle: object[] = [];
  /** Containers made so far (cold starts). */
  made = 0;

  async run<T>(invoke: () => Promise<T>): Promise<T> {
    const container = this.idle.pop() ?? this.make();
    try {
      return await containerScope.run(container, invoke);
    } finally {
      this.idle.push(container);
    }
  }

  private make(): object {
    this.made++;
    return { container: this.made };
  }
}
