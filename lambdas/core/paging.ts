import { badRequest, clip } from "./errors.ts";
import type { Positioned, ScanPosition } from "../ports.ts";

/** Cursors are `<epoch ms>-<store key>`; a bare epoch ms (the SDK's documented `cursor = Date.now()`) works too. */
export function encodeCursor(position: ScanPosition): string {
  return position.key === undefined ? String(position.time) : `${position.time}-${position.key}`;
}

export function decodeCursor(raw: string): ScanPosition {
  const m = /^(\d{1,16})(?:-([A-Za-z0-9_.:-]{1,64}))?$/.exec(raw.trim());
  if (!m) throw badRequest(`invalid cursor "${clip(raw)}"`);
  return m[2] === undefined ? { time: Number(m[1]) } : { time: Number(m[1]), key: m[2] };
}

/** Items per page of the list endpoints when `count` is not given (QStash's default). */
export const DEFAULT_PAGE_SIZE = 100;

/**
 * Raw bytes a page may carry (bodies are base64 in JSON, 4/3 larger). Keeps every list response well
 * under the 6 MB a Lambda may return and bounded in memory, whatever `count` asks for.
 */
export const MAX_PAGE_BYTES = 3 * 1024 * 1024;

/**
 * Takes up to `count` accepted items from a scan, fewer when their `sizeOf` would pass MAX_PAGE_BYTES
 * (never fewer than one). The cursor is returned only when at least one more accepted item exists, so
 * the last page has none (clients loop until the cursor is absent).
 */
export async function takePage<T>(
  scan: AsyncIterable<Positioned<T>>,
  accept: (item: T) => boolean | Promise<boolean>,
  count: number,
  sizeOf: (item: T) => number = () => 0,
): Promise<{ items: T[]; cursor?: string }> {
  const items: T[] = [];
  let bytes = 0;
  let last: ScanPosition | undefined;
  for await (const { position, item } of scan) {
    if (!(await accept(item))) continue;
    const size = sizeOf(item);
    if (items.length === count || (items.length > 0 && bytes + size > MAX_PAGE_BYTES)) {
      return last ? { items, cursor: encodeCursor(last) } : { items };
    }
    items.push(item);
    bytes += size;
    last = position;
  }
  return { items };
}
