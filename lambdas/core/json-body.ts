import { badRequest } from "./errors.ts";

/** Deeper than any real request; far below where JSON.stringify's recursion overflows V8's stack (~4,000). */
export const MAX_JSON_DEPTH = 1000;

/**
 * A request body parsed as JSON, or a 400: `invalid` when it is not JSON, and a depth error when it nests
 * deeper than MAX_JSON_DEPTH. JSON.parse takes nesting that JSON.stringify cannot write back, and parts of
 * these bodies are stored and sent as JSON, so the limit is checked once here rather than at every write.
 */
export function parseJsonBody(body: Uint8Array, invalid: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(body));
  } catch {
    throw badRequest(invalid);
  }
  // Iterative, so that the check itself cannot overflow the stack.
  const pending: [object, number][] = isNested(value) ? [[value, 1]] : [];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [node, depth] = next;
    if (depth > MAX_JSON_DEPTH) throw badRequest(`JSON is nested more than ${MAX_JSON_DEPTH} levels deep`);
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (isNested(child)) pending.push([child, depth + 1]);
    }
  }
  return value;
}

const isNested = (value: unknown): value is object => value !== null && typeof value === "object";
