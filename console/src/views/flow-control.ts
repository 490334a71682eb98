// Flow control: each key's parallelism and rate usage and its wait list; pause, resume, reset its rate.
import { h } from "../dom.ts";
import { formatSeconds } from "../format.ts";
import { actionButton, dataTable, detailsList, form, loadInto, section, type ViewContext } from "../ui.ts";

interface FlowControl {
  flowControlKey: string;
  waitListSize: number;
  parallelismMax: number;
  parallelismCount: number;
  rateMax: number;
  rateCount: number;
  ratePeriod: number;
  isPaused: boolean;
}

const usage = (count: number, max: number): string => (max === 0 ? `${count} (no limit)` : `${count} of ${max}`);

export function flowControlView(ctx: ViewContext): HTMLElement {
  const search = ctx.params.get("search") ?? "";
  const list = h("div", { class: "list" });
  const global = h("div", {});
  const reload = (): void => {
    void loadInto(list, async () => {
      const keys = await ctx.api.call<FlowControl[]>("GET", "/v2/flowControl", {
        query: search ? new URLSearchParams({ search }).toString() : "",
      });
      return dataTable(
        "Flow-control keys",
        [
          { label: "Key", cell: (k) => h("code", { class: "id" }, k.flowControlKey) },
          { label: "Parallelism", cell: (k) => usage(k.parallelismCount, k.parallelismMax) },
          {
            label: "Rate",
            cell: (k) => `${usage(k.rateCount, k.rateMax)}${k.rateMax ? ` per ${formatSeconds(k.ratePeriod)}` : ""}`,
          },
          { label: "Waiting", cell: (k) => String(k.waitListSize) },
          { label: "State", cell: (k) => (k.isPaused ? "Paused" : "Active") },
          ...(ctx.canWrite ? [{ label: "Actions", cell: (k: FlowControl) => keyActions(ctx, k, reload) }] : []),
        ],
        keys,
        search ? `No keys contain "${search}".` : "No flow-control keys yet: a key appears with its first message.",
      );
    });
    void loadInto(global, async () => {
      const g = await ctx.api.call<{ parallelismMax: number; parallelismCount: number }>(
        "GET",
        "/v2/globalParallelism",
      );
      return detailsList([["Global parallelism", usage(g.parallelismCount, g.parallelismMax)]]);
    });
  };
  reload();
  return h(
    "div",
    {},
    section(
      "Search",
      form(
        [{ name: "search", label: "Key contains", value: search }],
        "Search",
        async (values) =>
          ctx.navigate(
            values.search ? `#/flow-control?${new URLSearchParams({ search: values.search })}` : "#/flow-control",
          ),
        { className: "form inline" },
      ),
    ),
    section("Flow-control keys", global, list),
  );
}

function keyActions(ctx: ViewContext, key: FlowControl, reload: () => void): HTMLElement {
  const path = `/v2/flowControl/${encodeURIComponent(key.flowControlKey)}`;
  const run = (action: string, done: string) => async () => {
    await ctx.api.call("POST", `${path}/${action}`);
    ctx.notify(`${done} ${key.flowControlKey}`);
    reload();
  };
  return h(
    "span",
    { class: "row-actions" },
    key.isPaused
      ? actionButton("Resume", run("resume", "Resumed"), { label: `Resume ${key.flowControlKey}` })
      : actionButton("Pause", run("pause", "Paused"), { label: `Pause ${key.flowControlKey}` }),
    actionButton("Reset", run("resetRate", "Reset the rate of"), { label: `Reset the rate of ${key.flowControlKey}` }),
  );
}
