// DLQ: messages whose retries ran out, with their last response; retry or delete one, or all that match.
import { h } from "../dom.ts";
import { bodyForDisplay, truncate } from "../format.ts";
import { Pager } from "../paging.ts";
import { listQuery } from "../query.ts";
import {
  actionButton,
  dataTable,
  form,
  idText,
  loadInto,
  pagerControls,
  section,
  timeElement,
  viewLink,
  type ViewContext,
} from "../ui.ts";
import { applyFilters, filterValues, FILTER_FIELDS } from "./filters.ts";

interface DlqEntry {
  dlqId: string;
  messageId: string;
  url: string;
  method?: string;
  responseStatus: number;
  responseBody?: string;
  responseBodyBase64?: string;
  error?: string;
  createdAt: number;
}

const DLQ_FIELDS = [...FILTER_FIELDS, { name: "responseStatus", label: "Response status", type: "number" as const }];

export function dlqView(ctx: ViewContext): HTMLElement {
  const filters: Record<string, string> = {};
  for (const field of DLQ_FIELDS) filters[field.name] = ctx.params.get(field.name) ?? "";
  const pager = new Pager();
  const list = h("div", { class: "list" });
  const reload = (): void =>
    void loadInto(list, async () => {
      const query = listQuery(filters, { cursor: pager.cursor, count: "50" });
      const page = await ctx.api.call<{ messages: DlqEntry[]; cursor?: string }>("GET", "/v2/dlq", { query });
      pager.loaded(page.cursor);
      const columns = [
        // The message's creation: the API (as QStash's) gives no failure time, which the list's order and
        // its From/To filters go by.
        { label: "Created", cell: (entry: DlqEntry) => timeElement(entry.createdAt) },
        { label: "DLQ ID", cell: (entry: DlqEntry) => idText(entry.dlqId) },
        {
          label: "Message",
          cell: (entry: DlqEntry) =>
            viewLink(`#/timeline?messageId=${encodeURIComponent(entry.messageId)}`, idText(entry.messageId)),
        },
        { label: "URL", cell: (entry: DlqEntry) => truncate(entry.url, 50) },
        {
          label: "Last response",
          cell: (entry: DlqEntry) =>
            h(
              "span",
              { class: "response-cell" },
              entry.responseStatus ? `${entry.responseStatus} ` : "no response ",
              h(
                "span",
                { class: "muted" },
                // Every non-2xx answer has an error too ("destination answered 500"): the body says more.
                truncate(bodyForDisplay(entry.responseBody, entry.responseBodyBase64) || (entry.error ?? ""), 60),
              ),
            ),
        },
      ];
      if (ctx.canWrite) {
        columns.push({
          label: "Actions",
          cell: (entry: DlqEntry) =>
            h(
              "span",
              { class: "row-actions" },
              actionButton(
                "Retry",
                async () => {
                  const { messageId } = await ctx.api.call<{ messageId: string }>(
                    "POST",
                    `/v2/dlq/retry/${encodeURIComponent(entry.dlqId)}`,
                  );
                  ctx.notify(`Retried as ${messageId}`);
                  reload();
                },
                { label: `Retry ${entry.dlqId}` },
              ),
              actionButton(
                "Delete",
                async () => {
                  await ctx.api.call("DELETE", `/v2/dlq/${encodeURIComponent(entry.dlqId)}`);
                  ctx.notify(`Deleted ${entry.dlqId}`);
                  reload();
                },
                { danger: true, confirm: `Delete DLQ entry ${entry.dlqId}?`, label: `Delete ${entry.dlqId}` },
              ),
            ),
        });
      }
      return h(
        "div",
        {},
        dataTable("Dead-letter queue", columns, page.messages, "The DLQ is empty for these filters."),
        pagerControls(pager, reload),
      );
    });
  reload();

  const filterForm = form(filterValues(ctx.params, DLQ_FIELDS), "Apply filters", async (values) =>
    applyFilters(ctx, "dlq", values),
  );
  // The bulk actions take the filters of the list shown, not what is typed and not yet applied: until the
  // form is applied they are disabled (typing an id and pressing "Delete all matching" deleted every entry).
  const applied = DLQ_FIELDS.filter((field) => filters[field.name] !== "");
  const scope =
    applied.length === 0
      ? "of the whole DLQ (no filter)"
      : `matching ${applied.map((field) => `${field.label} = ${filters[field.name]}`).join(", ")}`;
  const unapplied = h(
    "p",
    { class: "hint", hidden: true },
    "Apply the filters first: the bulk actions use the list's.",
  );
  const bulk = ctx.canWrite
    ? h(
        "div",
        { class: "toolbar" },
        actionButton(
          "Retry all matching",
          async () =>
            ctx.notify(`Retried ${await eachPage(ctx, "POST", "/v2/dlq/retry", filters, "responses")} messages`),
          { confirm: `Retry every entry ${scope}?` },
        ),
        actionButton(
          "Delete all matching",
          async () => ctx.notify(`Deleted ${await eachPage(ctx, "DELETE", "/v2/dlq", filters, "deleted")} entries`),
          { danger: true, confirm: `Delete every entry ${scope}?` },
        ),
        unapplied,
      )
    : null;
  filterForm.addEventListener("input", () => {
    const typed = new FormData(filterForm);
    const stale = DLQ_FIELDS.some((field) => String(typed.get(field.name) ?? "") !== filters[field.name]);
    for (const button of bulk?.querySelectorAll("button") ?? []) button.disabled = stale;
    unapplied.hidden = !stale;
  });

  return h("div", {}, section("Filter", filterForm, bulk), section("Entries", list));

  async function eachPage(
    view: ViewContext,
    method: string,
    path: string,
    values: Record<string, string>,
    key: "responses" | "deleted",
  ): Promise<number> {
    // The bulk routes take one page per call and answer a cursor while more match (docs/qstash-api.md §12).
    // Newest first: a retried message that fails again makes a new entry, newer than every page still to
    // come, so it is not retried a second time (oldest first, the pages that followed reached it).
    let total = 0;
    let cursor: string | undefined;
    do {
      const answer = await view.api.call<{ responses?: unknown[]; deleted?: number; cursor?: string }>(method, path, {
        query: listQuery(values, { order: "latestFirst", cursor }),
      });
      total += key === "responses" ? (answer.responses?.length ?? 0) : (answer.deleted ?? 0);
      cursor = answer.cursor || undefined;
    } while (cursor);
    reload();
    return total;
  }
}
