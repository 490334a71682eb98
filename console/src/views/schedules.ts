// Schedules: list, details (cron, next and last run, the last firing's states), pause, resume, delete, create.
import { h } from "../dom.ts";
import { bodyForDisplay, headerLines, truncate } from "../format.ts";
import { parseHeaderLines } from "../query.ts";
import {
  actionButton,
  dataTable,
  detailsList,
  form,
  idText,
  loadInto,
  preBlock,
  section,
  timeElement,
  viewLink,
  type ViewContext,
} from "../ui.ts";

interface Schedule {
  scheduleId: string;
  cron: string;
  destination: string;
  method: string;
  createdAt: number;
  isPaused: boolean;
  header?: Record<string, string[]>;
  body?: string;
  bodyBase64?: string;
  retries?: number;
  queueName?: string;
  lastScheduleTime?: number;
  nextScheduleTime?: number;
  lastScheduleStates?: Record<string, string>;
  error?: string;
}

const scheduleLink = (id: string): HTMLElement =>
  viewLink(`#/schedules?id=${encodeURIComponent(id)}`, idText(id), `Details of ${id}`);

export function schedulesView(ctx: ViewContext): HTMLElement {
  const id = ctx.params.get("id");
  const list = h("div", { class: "list" });
  const details = h("div", {});
  const reload = (): void => {
    void loadInto(list, async () => {
      const schedules = await ctx.api.call<Schedule[]>("GET", "/v2/schedules");
      return dataTable(
        "Schedules",
        [
          { label: "Schedule", cell: (s) => scheduleLink(s.scheduleId) },
          { label: "Destination", cell: (s) => truncate(s.destination, 50) },
          { label: "Cron", cell: (s) => h("code", {}, s.cron) },
          { label: "Next run", cell: (s) => (s.isPaused ? "paused" : timeElement(s.nextScheduleTime)) },
          { label: "Last run", cell: (s) => timeElement(s.lastScheduleTime) },
          { label: "State", cell: (s) => (s.isPaused ? "Paused" : "Active") },
          ...(ctx.canWrite ? [{ label: "Actions", cell: (s: Schedule) => scheduleActions(ctx, s, refresh) }] : []),
        ],
        schedules,
        "No schedules yet.",
      );
    });
    if (id) void loadInto(details, () => scheduleDetails(ctx, id, refresh));
  };
  const refresh = (): void => reload();
  reload();
  return h(
    "div",
    {},
    id ? section("Schedule", details) : null,
    section("Schedules", list),
    ctx.canWrite ? createForm(ctx) : null,
  );
}

function scheduleActions(ctx: ViewContext, schedule: Schedule, refresh: () => void): HTMLElement {
  const path = `/v2/schedules/${encodeURIComponent(schedule.scheduleId)}`;
  return h(
    "span",
    { class: "row-actions" },
    schedule.isPaused
      ? actionButton(
          "Resume",
          async () => {
            await ctx.api.call("POST", `${path}/resume`);
            ctx.notify(`Resumed ${schedule.scheduleId}`);
            refresh();
          },
          { label: `Resume ${schedule.scheduleId}` },
        )
      : actionButton(
          "Pause",
          async () => {
            await ctx.api.call("POST", `${path}/pause`);
            ctx.notify(`Paused ${schedule.scheduleId}`);
            refresh();
          },
          { label: `Pause ${schedule.scheduleId}` },
        ),
    actionButton(
      "Delete",
      async () => {
        await ctx.api.call("DELETE", path);
        // Navigating redraws the list (a details view refreshed here would ask for the deleted schedule).
        ctx.navigate("#/schedules", `Deleted ${schedule.scheduleId}`);
      },
      { danger: true, confirm: `Delete schedule ${schedule.scheduleId}?`, label: `Delete ${schedule.scheduleId}` },
    ),
  );
}

async function scheduleDetails(ctx: ViewContext, id: string, refresh: () => void): Promise<HTMLElement> {
  const s = await ctx.api.call<Schedule>("GET", `/v2/schedules/${encodeURIComponent(id)}`);
  const states = Object.entries(s.lastScheduleStates ?? {});
  return h(
    "article",
    { "aria-label": `Schedule ${s.scheduleId}` },
    ctx.canWrite ? h("div", { class: "toolbar" }, scheduleActions(ctx, s, refresh)) : null,
    detailsList([
      ["Schedule ID", idText(s.scheduleId)],
      ["Destination", s.destination],
      ["Cron", h("code", {}, s.cron)],
      ["State", s.isPaused ? "Paused" : "Active"],
      ["Next run", s.isPaused ? "paused" : timeElement(s.nextScheduleTime)],
      ["Last run", timeElement(s.lastScheduleTime)],
      ["Created", timeElement(s.createdAt)],
      ["Method", s.method],
      ["Retries", String(s.retries ?? "")],
      ...(s.queueName ? [["Queue", s.queueName] as [string, string]] : []),
      ...(s.error ? [["Last error", s.error] as [string, string]] : []),
    ]),
    h("h3", {}, "Last firing"),
    states.length === 0
      ? h("p", { class: "empty" }, "Not fired yet.")
      : h(
          "ul",
          {},
          ...states.map(([messageId, state]) =>
            h(
              "li",
              {},
              viewLink(`#/timeline?messageId=${encodeURIComponent(messageId)}`, idText(messageId)),
              ` ${state}`,
            ),
          ),
        ),
    h("h3", {}, "Headers"),
    preBlock(headerLines(s.header).join("\n"), "(no headers)"),
    h("h3", {}, "Body"),
    preBlock(bodyForDisplay(s.body, s.bodyBase64)),
  );
}

function createForm(ctx: ViewContext): HTMLElement {
  return section(
    "Create a schedule",
    form(
      [
        { name: "destination", label: "Destination", required: true, placeholder: "https://… or a URL group name" },
        { name: "cron", label: "Cron", required: true, placeholder: "*/5 * * * *" },
        { name: "scheduleId", label: "Schedule ID (optional)" },
        { name: "queue", label: "Queue (optional)" },
        { name: "method", label: "Method", type: "select", options: ["POST", "GET", "PUT", "PATCH", "DELETE"] },
        { name: "contentType", label: "Content type", placeholder: "application/json" },
        { name: "headers", label: "Headers (one per line, Name: value)", type: "textarea" },
        { name: "body", label: "Body", type: "textarea" },
      ],
      "Create schedule",
      async (values) => {
        const headers: [string, string][] = [["Upstash-Cron", (values.cron ?? "").trim()]];
        if (values.scheduleId?.trim()) headers.push(["Upstash-Schedule-Id", values.scheduleId.trim()]);
        if (values.queue?.trim()) headers.push(["Upstash-Queue-Name", values.queue.trim()]);
        if (values.method && values.method !== "POST") headers.push(["Upstash-Method", values.method]);
        if (values.contentType?.trim()) headers.push(["Content-Type", values.contentType.trim()]);
        headers.push(...parseHeaderLines(values.headers ?? ""));
        const { scheduleId } = await ctx.api.call<{ scheduleId: string }>(
          "POST",
          `/v2/schedules/${(values.destination ?? "").trim()}`,
          { headers, body: values.body ?? "" },
        );
        ctx.navigate(`#/schedules?id=${encodeURIComponent(scheduleId)}`, `Created schedule ${scheduleId}`);
      },
    ),
  );
}
