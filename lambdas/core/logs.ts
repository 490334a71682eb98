import type { EventLog, LoggedEvent } from "../ports.ts";
import { hasFilter, matchesFilter, type ListQuery } from "./filters.ts";
import { DEFAULT_PAGE_SIZE, decodeCursor, takePage } from "./paging.ts";
import { logEntryView } from "./views.ts";

const eventSize = ({ event, message }: LoggedEvent): number =>
  (message?.body.byteLength ?? 0) + (event.response?.body.byteLength ?? 0);

/**
 * `GET /v2/logs` and `/v2/events`: newest first unless `order=earliestFirst`. The SDKs read the list
 * from `events` (on /v2/events); the OpenAPI document names it `logs` (on /v2/logs): `key` says which.
 */
export async function listLogs(
  ctx: { store: EventLog },
  query: ListQuery,
  key: "events" | "logs",
): Promise<Record<string, unknown>> {
  const { messageId, ...rest } = query.filter;
  const messageIds = query.ids ?? messageId;
  const scan = ctx.store.scanEvents({
    order: query.order ?? "latestFirst",
    ...(messageIds ? { messageIds } : {}),
    // Explicit ids still page: the cursor of a page of their events continues it (it came back with it).
    ...(query.cursor ? { after: decodeCursor(query.cursor) } : {}),
    ...(query.fromDate !== undefined ? { fromTime: query.fromDate } : {}),
    ...(query.toDate !== undefined ? { toTime: query.toDate } : {}),
  });
  const otherFilters = query.ids ? {} : rest;
  const filtering = hasFilter(otherFilters);
  const accept = ({ event, message }: LoggedEvent): boolean => {
    if (query.states && !query.states.has(event.state)) return false;
    if (!filtering) return true;
    return message !== undefined && matchesFilter(message, otherFilters);
  };
  const page = await takePage(scan, accept, query.count ?? DEFAULT_PAGE_SIZE, eventSize);
  const entries = page.items.map(({ event, message }) => logEntryView(event, message));
  return { ...(page.cursor ? { cursor: page.cursor } : {}), [key]: entries };
}
