// URL groups: their endpoints; add and remove endpoints; delete a group.
import { h } from "../dom.ts";
import { actionButton, dataTable, emptyState, form, loadInto, section, timeElement, type ViewContext } from "../ui.ts";

interface Endpoint {
  name?: string;
  url: string;
}
interface UrlGroup {
  name: string;
  createdAt: number;
  updatedAt: number;
  endpoints: Endpoint[];
}

export function urlGroupsView(ctx: ViewContext): HTMLElement {
  const list = h("div", { class: "list" });
  const reload = (): void =>
    void loadInto(list, async () => {
      const groups = await ctx.api.call<UrlGroup[]>("GET", "/v2/topics");
      if (groups.length === 0) return emptyState("No URL groups yet.");
      return h("div", {}, ...groups.map((group) => groupPanel(ctx, group, reload)));
    });
  reload();
  return h(
    "div",
    {},
    section("URL groups", list),
    ctx.canWrite
      ? section(
          "Add an endpoint",
          h("p", { class: "hint" }, "Adding to a group that does not exist creates it."),
          form(
            [
              { name: "group", label: "URL group", required: true },
              { name: "url", label: "Endpoint URL", type: "url", required: true, placeholder: "https://…" },
              { name: "name", label: "Endpoint name (optional)" },
            ],
            "Add endpoint",
            async (values) => {
              const endpoint: Endpoint = { url: (values.url ?? "").trim() };
              if (values.name?.trim()) endpoint.name = values.name.trim();
              await ctx.api.call("POST", `/v2/topics/${encodeURIComponent((values.group ?? "").trim())}/endpoints`, {
                body: { endpoints: [endpoint] },
              });
              ctx.notify(`Added ${endpoint.url} to ${values.group}`);
              reload();
            },
          ),
        )
      : null,
  );
}

function groupPanel(ctx: ViewContext, group: UrlGroup, reload: () => void): HTMLElement {
  const path = `/v2/topics/${encodeURIComponent(group.name)}`;
  return h(
    "article",
    { class: "group", "aria-label": `URL group ${group.name}` },
    h(
      "div",
      { class: "toolbar" },
      h("h3", {}, h("code", { class: "id" }, group.name)),
      h("span", { class: "muted" }, "updated ", timeElement(group.updatedAt)),
      ctx.canWrite &&
        actionButton(
          "Delete group",
          async () => {
            await ctx.api.call("DELETE", path);
            ctx.notify(`Deleted ${group.name}`);
            reload();
          },
          { danger: true, confirm: `Delete URL group ${group.name}?`, label: `Delete group ${group.name}` },
        ),
    ),
    dataTable(
      `Endpoints of ${group.name}`,
      [
        { label: "Name", cell: (e) => e.name ?? "" },
        { label: "URL", cell: (e) => e.url },
        ...(ctx.canWrite
          ? [
              {
                label: "Actions",
                cell: (e: Endpoint) =>
                  actionButton(
                    "Remove",
                    async () => {
                      await ctx.api.call("DELETE", `${path}/endpoints`, {
                        body: { endpoints: [e.name ? { name: e.name } : { url: e.url }] },
                      });
                      ctx.notify(`Removed ${e.name ?? e.url}`);
                      reload();
                    },
                    {
                      danger: true,
                      label: `Remove ${e.name ?? e.url} from ${group.name}`,
                      // The API deletes a group with its last endpoint.
                      confirm:
                        group.endpoints.length === 1
                          ? `Remove ${e.name ?? e.url}, the last endpoint of ${group.name}? The URL group is deleted with it.`
                          : `Remove ${e.name ?? e.url} from ${group.name}?`,
                    },
                  ),
              },
            ]
          : []),
      ],
      group.endpoints,
      "No endpoints.",
    ),
  );
}
