// Helpers shared by the unit tests: run a function and get the HttpError it threw (anything else fails).
import { expect } from "vitest";
import { HttpError } from "../../lambdas/core/errors.ts";

/** Returns the HttpError `run` throws; rethrows any other error and fails when nothing is thrown. */
export function httpErrorFrom(run: () => unknown): HttpError {
  try {
    run();
  } catch (error) {
    if (error instanceof HttpError) return error;
    throw error;
  }
  throw new Error("expected an HttpError, but nothing was thrown");
}

/** Asserts `run` throws HttpError 400 whose message contains every fragment; returns the message. */
export function expectBadRequest(run: () => unknown, ...fragments: string[]): string {
  const error = httpErrorFrom(run);
  expect(error.status).toBe(400);
  for (const fragment of fragments) expect(error.message).toContain(fragment);
  return error.message;
}

/**
 * For fuzzing: runs `run` and returns `{ ok: true, value }`, or `{ ok: false }` when it threw HttpError 400.
 * Any other exception (TypeError, RangeError, another status) propagates and fails the property.
 */
export function resultOrBadRequest<T>(run: () => T): { ok: true; value: T } | { ok: false } {
  try {
    return { ok: true, value: run() };
  } catch (error) {
    if (error instanceof HttpError && error.status === 400) return { ok: false };
    throw error;
  }
}
