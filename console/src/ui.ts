// The console's building blocks: tables, filter forms, buttons that call the API, times, messages.
import type { Api } from "./api.ts";
import { h, replace } from "./dom.ts";
import { formatTime } from "./format.ts";
import type { Pager } from "./paging.ts";

/** What every view gets. */
export interface ViewContext {
  api: Api;
  /** False for the read-only token: views leave out every control that changes state. */
  canWrite: boolean;
  /** The query of the view's hash (`#/logs?messageId=…`). */
  params: URLSearchParams;
  /** Goes to another view (`#/timeline?messageId=…`), showing `notice` there in the status line. */
  navigate(hash: string, notice?: string): void;
  /** Shows a short confirmation ("Message … cancelled") in the page's status line. */
  notify(text: string): void;
}

type Child = Parameters<typeof h>[2];

/** An epoch-ms time in local time, with UTC on hover. */
export function timeElement(ms: number | undefined): HTMLElement | string {
  if (ms === undefined || ms === null || !Number.isFinite(Number(ms)) || Number(ms) <= 0) return "—";
  const time = formatTime(Number(ms));
  return h("time", { datetime: time.iso, title: time.utc }, time.local);
}

/** An id, as selectable text in a monospace face. */
export const idText = (id: string): HTMLElement => h("code", { class: "id" }, id);

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export const errorBox = (error: unknown): HTMLElement => h("p", { class: "error", role: "alert" }, errorText(error));

export const emptyState = (text: string): HTMLElement => h("p", { class: "empty" }, text);

export interface Column<T> {
  label: string;
  cell: (row: T) => Child;
}

export function dataTable<T>(caption: string, columns: Column<T>[], rows: T[], empty: string): HTMLElement {
  if (rows.length === 0) return emptyState(empty);
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      {},
      h("caption", { class: "visually-hidden" }, caption),
      h("thead", {}, h("tr", {}, ...columns.map((column) => h("th", { scope: "col" }, column.label)))),
      h(
        "tbody",
        {},
        ...rows.map((row) =>
          h("tr", {}, ...columns.map((column) => h("td", { "data-label": column.label }, column.cell(row)))),
        ),
      ),
    ),
  );
}

/** Name/value pairs of an object, for a message's or a schedule's details. */
export function detailsList(entries: [string, Child][]): HTMLElement {
  return h("dl", { class: "details" }, ...entries.flatMap(([name, value]) => [h("dt", {}, name), h("dd", {}, value)]));
}

export interface ActionOptions {
  /** Asked first with window.confirm; cancelling does nothing. */
  confirm?: string;
  danger?: boolean;
  /** Names the button for assistive technology when its text is short ("Retry" in a table row). */
  label?: string;
}

/** A button that runs an API call: disabled while it runs; an error is shown next to it. */
export function actionButton(text: string, run: () => Promise<void>, options: ActionOptions = {}): HTMLElement {
  const error = h("span", { class: "inline-error", role: "alert" });
  const button = h(
    "button",
    {
      type: "button",
      class: options.danger ? "danger" : undefined,
      "aria-label": options.label,
      onclick: async () => {
        if (options.confirm && !window.confirm(options.confirm)) return;
        button.disabled = true;
        error.textContent = "";
        try {
          await run();
        } catch (caught) {
          error.textContent = errorText(caught);
        } finally {
          button.disabled = false;
        }
      },
    },
    text,
  );
  return h("span", { class: "action" }, button, error);
}

export interface Field {
  name: string;
  label: string;
  type?: "text" | "number" | "datetime-local" | "url" | "select" | "textarea" | "password";
  options?: string[];
  placeholder?: string;
  required?: boolean;
  value?: string;
}

/** A form of labelled fields; `submit` gets the values by name. Errors it throws are shown in the form. */
export function form(
  fields: Field[],
  submitText: string,
  submit: (values: Record<string, string>) => Promise<void>,
  options: { disabled?: boolean; className?: string } = {},
): HTMLFormElement {
  const error = h("p", { class: "error", role: "alert", hidden: true });
  const controls = fields.map((field) => {
    const id = `f-${field.name}-${Math.random().toString(36).slice(2, 8)}`;
    const common = { id, name: field.name, required: field.required, disabled: options.disabled };
    let control: HTMLElement;
    if (field.type === "select") {
      control = h(
        "select",
        common,
        ...(field.options ?? []).map((option) =>
          h("option", { value: option, selected: option === field.value }, option === "" ? "(any)" : option),
        ),
      );
    } else if (field.type === "textarea") {
      control = h("textarea", { ...common, rows: 5, placeholder: field.placeholder });
      (control as HTMLTextAreaElement).value = field.value ?? "";
    } else {
      control = h("input", {
        ...common,
        type: field.type ?? "text",
        placeholder: field.placeholder,
        value: field.value,
        autocomplete: "off",
      });
    }
    return h("div", { class: `field field-${field.type ?? "text"}` }, h("label", { for: id }, field.label), control);
  });
  const button = h("button", { type: "submit", disabled: options.disabled }, submitText);
  const element = h(
    "form",
    {
      class: options.className ?? "form",
      onsubmit: async (event: Event) => {
        event.preventDefault();
        const data = new FormData(element);
        const values: Record<string, string> = {};
        for (const field of fields) values[field.name] = String(data.get(field.name) ?? "");
        button.disabled = true;
        error.hidden = true;
        try {
          await submit(values);
        } catch (caught) {
          error.textContent = errorText(caught);
          error.hidden = false;
        } finally {
          button.disabled = options.disabled ?? false;
        }
      },
    },
    h("div", { class: "fields" }, ...controls),
    h("div", { class: "form-actions" }, button),
    error,
  );
  return element;
}

/** "Previous" / "Next" under a paged list. */
export function pagerControls(pager: Pager, reload: () => void): HTMLElement {
  return h(
    "nav",
    { class: "pager", "aria-label": "Pages" },
    h(
      "button",
      { type: "button", disabled: !pager.hasPrevious, onclick: () => (pager.previous(), reload()) },
      "Previous page",
    ),
    h("span", {}, `Page ${pager.page}`),
    h("button", { type: "button", disabled: !pager.hasNext, onclick: () => (pager.next(), reload()) }, "Next page"),
  );
}

/** Runs `load` into `target` with a loading line, and its error in place of the content. */
export async function loadInto(target: Element, load: () => Promise<Child>): Promise<void> {
  replace(target, h("p", { class: "loading", "aria-busy": "true" }, "Loading…"));
  try {
    replace(target, await load());
  } catch (error) {
    replace(target, errorBox(error));
  }
}

export function section(title: string, ...children: Child[]): HTMLElement {
  return h("section", { class: "panel" }, h("h2", {}, title), ...children);
}

/** A pre block for bodies and headers; empty text says so. */
export const preBlock = (text: string, empty = "(empty)"): HTMLElement =>
  h("pre", { class: text === "" ? "pre empty" : "pre", tabindex: 0 }, text === "" ? empty : text);

/** A link to another view of the console. */
export const viewLink = (hash: string, text: Child, label?: string): HTMLElement =>
  h("a", { href: hash, "aria-label": label }, text);
