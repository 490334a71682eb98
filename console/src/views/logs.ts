// Logs: the event log with the API's filters, paged by its cursor; and one message's whole timeline.
import { h, replace } from "../dom.ts";
import { headerLines, loggedBodyForDisplay, truncate } from "../format.ts";
import { Pager } from "../paging.ts";
import { listQuery } from "../query.ts";
import {
  dataTable,
  detailsList,
  emptyState,
  form,
  idText,
  loadInto,
  pagerControls,
  preBlock,
  section,
  timeElement,
  viewLink,
  type ViewContext,
} from "../ui.ts";
import { applyFilters, filterValues, FILTER_FIELDS, LOG_STATES } from "./filters.ts";

export interface LogEvent {
  time: number;
  messageId: string;
  state: string;
  url?: string;
  method?: string;
  error?: string;
  nextDeliveryTime?: number;
  responseStatus?: number;
  responseBody?: string;
  responseHeader?: Record<string, string[]>;
  header?: Record<string, string[]>;
  body?: string;
  queueName?: string;
  scheduleId?: string;
  topicName?: string;
  label?: string;
}

const LOG_FIELDS = [...FILTER_FIELDS, { name: "state", label: "State", type: "select" as const, options: LOG_STATES }];

const timelineLink = (messageId: string): HTMLElement =>
  viewLink(`#/timeline?messageId=${encodeURIComponent(messageId)}`, idText(messageId), `Timeline of ${messageId}`);

export const stateBadge = (state: string): HTMLElement =>
  h("span", { class: `state state-${state.toLowerCase()}` }, state);

export function logsView(ctx: ViewContext): HTMLElement {
  const filters: Record<string, string> = {};
  for (const field of LOG_FIELDS) filters[field.name] = ctx.params.get(field.name) ?? "";
  const pager = new Pager();
  const list = h("div", { class: "list" });
  const reload = (): void =>
    void loadInto(list, async () => {
      const query = listQuery(filters, { cursor: pager.cursor, count: "50" });
      const page = await ctx.api.call<{ events: LogEvent[]; cursor?: string }>("GET", "/v2/events", { query });
      pager.loaded(page.cursor);
      return h(
        "div",
        {},
        dataTable(
          "Log events",
          [
            { label: "Time", cell: (event) => timeElement(event.time) },
            { label: "State", cell: (event) => stateBadge(event.state) },
            { label: "Message", cell: (event) => timelineLink(event.messageId) },
            { label: "URL", cell: (event) => truncate(event.url ?? "", 60) },
            { label: "Response", cell: (event) => (event.responseStatus ? String(event.responseStatus) : "") },
          ],
          page.events,
          "No events match these filters.",
        ),
        pagerControls(pager, reload),
      );
    });
  reload();
  return h(
    "div",
    {},
    section(
      "Filter",
      form(filterValues(ctx.params, LOG_FIELDS), "Apply filters", async (values) => applyFilters(ctx, "logs", values)),
    ),
    section("Events", list),
  );
}

export function timelineView(ctx: ViewContext): HTMLElement {
  const messageId = ctx.params.get("messageId") ?? "";
  const content = h("div", {});
  if (!messageId) replace(content, emptyState("Pick a message in the logs to see its timeline."));
  else {
    void loadInto(content, async () => {
      // Every page: the API ends one early at a few MiB of bodies (each event carries the message's).
      const events: LogEvent[] = [];
      let cursor: string | undefined;
      do {
        const query = listQuery({ messageId }, { order: "earliestFirst", count: "1000", cursor });
        const page = await ctx.api.call<{ events: LogEvent[]; cursor?: string }>("GET", "/v2/events", { query });
        events.push(...page.events);
        cursor = page.cursor || undefined;
      } while (cursor);
      if (events.length === 0) return emptyState(`No events for ${messageId} (unknown, or past the log's retention).`);
      const first = events[0] as LogEvent;
      return h(
        "div",
        {},
        detailsList([
          ["Message", idText(messageId)],
          ["URL", first.url ?? "—"],
          ["Method", first.method ?? "—"],
          ["Now", stateBadge((events[events.length - 1] as LogEvent).state)],
          ...(first.queueName ? [["Queue", first.queueName] as [string, string]] : []),
          ...(first.scheduleId ? [["Schedule", first.scheduleId] as [string, string]] : []),
        ]),
        h("ol", { class: "timeline", "aria-label": "Timeline" }, ...events.map(timelineEntry)),
        h("p", {}, viewLink(`#/messages?id=${encodeURIComponent(messageId)}`, "Open the message")),
      );
    });
  }
  return section(`Timeline${messageId ? ` of ${messageId}` : ""}`, content);
}

function timelineEntry(event: LogEvent): HTMLElement {
  const response = event.responseBody === undefined ? undefined : loggedBodyForDisplay(event.responseBody);
  return h(
    "li",
    { class: "timeline-entry" },
    h("div", { class: "timeline-head" }, stateBadge(event.state), " ", timeElement(event.time)),
    event.responseStatus ? h("p", {}, `Response status ${event.responseStatus}`) : null,
    event.error ? h("p", { class: "event-error" }, event.error) : null,
    event.nextDeliveryTime ? h("p", {}, "Next attempt ", timeElement(event.nextDeliveryTime)) : null,
    response !== undefined ? h("div", { class: "response" }, h("span", {}, "Response body"), preBlock(response)) : null,
    event.responseHeader
      ? h("details", {}, h("summary", {}, "Response headers"), preBlock(headerLines(event.responseHeader).join("\n")))
      : null,
  );
}
