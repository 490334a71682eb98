// The filters the logs, the DLQ and bulk cancel share (docs/qstash-api.md §18).
import { listQuery } from "../query.ts";
import type { Field, ViewContext } from "../ui.ts";

export const FILTER_FIELDS: Field[] = [
  { name: "messageId", label: "Message ID" },
  { name: "url", label: "URL", placeholder: "https://…" },
  { name: "topicName", label: "URL group" },
  { name: "queueName", label: "Queue" },
  { name: "scheduleId", label: "Schedule ID" },
  { name: "label", label: "Label" },
  { name: "fromDate", label: "From", type: "datetime-local" },
  { name: "toDate", label: "To", type: "datetime-local" },
];

export const LOG_STATES = [
  "",
  "CREATED",
  "ACTIVE",
  "RETRY",
  "ERROR",
  "IN_PROGRESS",
  "DELIVERED",
  "FAILED",
  "CANCEL_REQUESTED",
  "CANCELED",
];

/** The filter values carried in a view's hash, for the form to show them again. */
export function filterValues(params: URLSearchParams, fields: Field[]): Field[] {
  return fields.map((field) => {
    const value = params.get(field.name);
    return value === null ? field : { ...field, value };
  });
}

/**
 * Shows `route` filtered by the form's values: they go into the hash as typed (so the form shows them
 * again and the view can be bookmarked); a bad date is reported in the form first.
 */
export function applyFilters(ctx: ViewContext, route: string, values: Record<string, string>): void {
  listQuery(values);
  ctx.navigate(`#/${route}?${new URLSearchParams(Object.entries(values).filter(([, v]) => v !== ""))}`);
}
