// Queues: lag, parallelism and paused; pause, resume, delete, set parallelism, create.
import { h } from "../dom.ts";
import { actionButton, dataTable, form, loadInto, section, timeElement, type ViewContext } from "../ui.ts";

interface Queue {
  name: string;
  parallelism: number;
  lag: number;
  paused: boolean;
  createdAt: number;
  updatedAt: number;
}

export function queuesView(ctx: ViewContext): HTMLElement {
  const list = h("div", { class: "list" });
  const reload = (): void =>
    void loadInto(list, async () => {
      const queues = await ctx.api.call<Queue[]>("GET", "/v2/queues");
      return dataTable(
        "Queues",
        [
          { label: "Queue", cell: (q) => h("code", { class: "id" }, q.name) },
          { label: "Parallelism", cell: (q) => String(q.parallelism) },
          { label: "Lag", cell: (q) => String(q.lag) },
          { label: "State", cell: (q) => (q.paused ? "Paused" : "Active") },
          { label: "Updated", cell: (q) => timeElement(q.updatedAt) },
          ...(ctx.canWrite ? [{ label: "Actions", cell: (q: Queue) => queueActions(ctx, q, reload) }] : []),
        ],
        queues,
        "No queues yet: a queue is made by its first enqueue, or below.",
      );
    });
  reload();
  return h(
    "div",
    {},
    section("Queues", list),
    ctx.canWrite
      ? section(
          "Create or update a queue",
          form(
            [
              { name: "queueName", label: "Queue name", required: true },
              { name: "parallelism", label: "Parallelism", type: "number", value: "1", required: true },
            ],
            "Save queue",
            async (values) => {
              await ctx.api.call("POST", "/v2/queues", {
                body: { queueName: values.queueName?.trim(), parallelism: Number(values.parallelism) },
              });
              ctx.notify(`Saved queue ${values.queueName}`);
              reload();
            },
          ),
        )
      : null,
  );
}

function queueActions(ctx: ViewContext, queue: Queue, reload: () => void): HTMLElement {
  const path = `/v2/queues/${encodeURIComponent(queue.name)}`;
  const parallelism = h("input", {
    type: "number",
    min: 1,
    max: 1000,
    value: queue.parallelism,
    "aria-label": `Parallelism of ${queue.name}`,
    class: "narrow",
  });
  return h(
    "span",
    { class: "row-actions" },
    actionButton(
      queue.paused ? "Resume" : "Pause",
      async () => {
        await ctx.api.call("POST", `${path}/${queue.paused ? "resume" : "pause"}`);
        ctx.notify(`${queue.paused ? "Resumed" : "Paused"} ${queue.name}`);
        reload();
      },
      { label: `${queue.paused ? "Resume" : "Pause"} ${queue.name}` },
    ),
    parallelism,
    actionButton(
      "Set parallelism",
      async () => {
        await ctx.api.call("POST", "/v2/queues", {
          // Without `paused`, which the API then keeps as it is now: the value this page loaded may be stale.
          body: { queueName: queue.name, parallelism: Number(parallelism.value) },
        });
        ctx.notify(`${queue.name}: parallelism ${parallelism.value}`);
        reload();
      },
      { label: `Set parallelism of ${queue.name}` },
    ),
    actionButton(
      "Delete",
      async () => {
        await ctx.api.call("DELETE", path);
        ctx.notify(`Deleted ${queue.name}`);
        reload();
      },
      { danger: true, confirm: `Delete queue ${queue.name}?`, label: `Delete ${queue.name}` },
    ),
  );
}
