// Publish: a request builder for /v2/publish and /v2/enqueue; the answer links to each message's timeline.
import { h, replace } from "../dom.ts";
import { publishCall, type PublishForm } from "../query.ts";
import { form, idText, section, viewLink, type ViewContext } from "../ui.ts";

interface Published {
  messageId: string;
  url?: string;
  deduplicated?: boolean;
}

export function publishView(ctx: ViewContext): HTMLElement {
  const result = h("div", { role: "status", "aria-live": "polite" });
  const builder = form(
    [
      { name: "destination", label: "Destination", required: true, placeholder: "https://… or a URL group name" },
      { name: "queue", label: "Queue (optional: enqueue)" },
      { name: "method", label: "Method", type: "select", options: ["POST", "GET", "PUT", "PATCH", "DELETE"] },
      { name: "delay", label: "Delay", placeholder: "e.g. 10s, 5m, 2h" },
      { name: "retries", label: "Retries", type: "number", placeholder: "default" },
      { name: "callback", label: "Callback URL" },
      { name: "failureCallback", label: "Failure callback URL" },
      { name: "deduplicationId", label: "Deduplication ID" },
      { name: "label", label: "Label" },
      { name: "contentType", label: "Content type", placeholder: "application/json" },
      { name: "headers", label: "Headers (one per line, Name: value)", type: "textarea" },
      { name: "body", label: "Body", type: "textarea" },
    ],
    "Publish",
    async (values) => {
      const call = publishCall(values as unknown as PublishForm);
      const answer = await ctx.api.call<Published | Published[]>("POST", call.path, {
        headers: call.headers,
        body: call.body,
      });
      const messages = [answer].flat();
      replace(
        result,
        h("h3", {}, messages.length === 1 ? "Published" : `Published ${messages.length} messages`),
        h(
          "ul",
          { class: "published" },
          ...messages.map((message) =>
            h(
              "li",
              {},
              "Message ID ",
              idText(message.messageId),
              message.url ? ` to ${message.url}` : "",
              message.deduplicated ? " (a duplicate: already published)" : "",
              " — ",
              viewLink(`#/timeline?messageId=${encodeURIComponent(message.messageId)}`, "Timeline"),
            ),
          ),
        ),
      );
    },
    { disabled: !ctx.canWrite },
  );
  return section(
    "Publish a message",
    ctx.canWrite ? null : h("p", { class: "hint" }, "Publishing needs the deployment's token: this one is read-only."),
    builder,
    result,
  );
}
