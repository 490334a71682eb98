// Messages: look one up by id (all its fields, headers and body), cancel it, or cancel many by filter.
import { ApiError } from "../api.ts";
import { h } from "../dom.ts";
import { bodyForDisplay, headerLines } from "../format.ts";
import { listQuery } from "../query.ts";
import {
  actionButton,
  detailsList,
  errorBox,
  form,
  idText,
  loadInto,
  preBlock,
  section,
  timeElement,
  viewLink,
  type ViewContext,
} from "../ui.ts";
import { FILTER_FIELDS } from "./filters.ts";

type Message = Record<string, unknown> & { messageId: string };

const TIME_FIELDS = new Set(["createdAt", "notBefore"]);
const SHOWN_APART = new Set(["header", "body", "bodyBase64", "messageId"]);

function messageDetails(message: Message): HTMLElement {
  const fields = Object.entries(message)
    .filter(([name]) => !SHOWN_APART.has(name))
    .map(([name, value]): [string, ReturnType<typeof timeElement> | string] => [
      name,
      TIME_FIELDS.has(name)
        ? timeElement(Number(value))
        : typeof value === "object"
          ? JSON.stringify(value)
          : String(value),
    ]);
  return detailsList([["messageId", idText(message.messageId)], ...fields]);
}

export function messagesView(ctx: ViewContext): HTMLElement {
  const id = ctx.params.get("id") ?? "";
  const result = h("div", { class: "result" });
  const lookup = form(
    [{ name: "id", label: "Message ID", value: id, required: true, placeholder: "msg_…" }],
    "Look up",
    async ({ id: typed }) => ctx.navigate(`#/messages?id=${encodeURIComponent((typed ?? "").trim())}`),
    { className: "form inline" },
  );
  if (id) void loadInto(result, () => showMessage(ctx, id));
  const views = [section("Look up a message", lookup, result)];
  if (ctx.canWrite) views.push(bulkCancel(ctx));
  return h("div", {}, ...views);
}

async function showMessage(ctx: ViewContext, id: string): Promise<HTMLElement> {
  let message: Message;
  try {
    message = await ctx.api.call<Message>("GET", `/v2/messages/${encodeURIComponent(id)}`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      return h(
        "div",
        {},
        errorBox(`No pending message ${id}: it was delivered, failed, cancelled, or never existed.`),
        h("p", {}, viewLink(`#/timeline?messageId=${encodeURIComponent(id)}`, "See its timeline in the logs")),
      );
    }
    throw error;
  }
  const body = bodyForDisplay(message.body as string | undefined, message.bodyBase64 as string | undefined);
  return h(
    "article",
    { class: "message", "aria-label": `Message ${message.messageId}` },
    h(
      "div",
      { class: "toolbar" },
      viewLink(`#/timeline?messageId=${encodeURIComponent(message.messageId)}`, "Timeline"),
      ctx.canWrite &&
        actionButton(
          "Cancel",
          async () => {
            await ctx.api.call("DELETE", `/v2/messages/${encodeURIComponent(message.messageId)}`);
            ctx.navigate(
              `#/timeline?messageId=${encodeURIComponent(message.messageId)}`,
              `Cancel requested for ${message.messageId}`,
            );
          },
          {
            danger: true,
            confirm: `Cancel message ${message.messageId}?`,
            label: `Cancel message ${message.messageId}`,
          },
        ),
    ),
    messageDetails(message),
    h("h3", {}, "Headers"),
    preBlock(headerLines(message.header as Record<string, string[]> | undefined).join("\n"), "(no headers)"),
    h("h3", {}, "Body"),
    preBlock(body),
  );
}

function bulkCancel(ctx: ViewContext): HTMLElement {
  const result = h("p", { role: "status" });
  const fields = FILTER_FIELDS.filter((field) => field.name !== "messageId");
  return section(
    "Cancel pending messages by filter",
    h(
      "p",
      { class: "hint" },
      "Cancels the pending messages that match every filter given (all of them if none is). On AWS, immediate " +
        "messages still waiting for their first attempt are cancelled too, without being counted.",
    ),
    form(
      [...fields, { name: "count", label: "At most", type: "number", placeholder: "all" }],
      "Cancel matching",
      async (values) => {
        const query = listQuery(values);
        const what = query === "" ? "every pending message" : "every pending message matching these filters";
        if (!window.confirm(`Cancel ${what}?`)) return;
        const answer = await ctx.api.call<{ cancelled: number }>("DELETE", "/v2/messages", { query });
        result.textContent = `Cancelled ${answer.cancelled} ${answer.cancelled === 1 ? "message" : "messages"}.`;
      },
    ),
    result,
  );
}
