import { readFileSync } from "node:fs";
import { Ajv2020 } from "ajv/dist/2020.js";
import { parse } from "yaml";

// A copy of the public QStash OpenAPI document (docs/qstash-api.md), so a clone tests alone.
const OPENAPI_PATH = new URL("../fixtures/qstash-openapi.yaml", import.meta.url);

// The public QStash OpenAPI document, with the one deviation docs/qstash-api.md §23 decides: every SDK
// (and Herald) spells the state CANCELED, the OpenAPI file CANCELLED.
const document = parse(readFileSync(OPENAPI_PATH, "utf8")) as {
  components: { schemas: Record<string, { properties: Record<string, { enum?: string[] }> }> };
};
document.components.schemas.LogEntry?.properties.state?.enum?.push("CANCELED");

const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
ajv.addSchema(document, "qstash");

const pointer = (...parts: string[]): string =>
  parts.map((p) => p.replaceAll("~", "~0").replaceAll("/", "~1")).join("/");

/** Validates a JSON value against a component schema (`Message`) or a documented response. */
function validate(ref: string, value: unknown): string[] {
  const check = ajv.getSchema(`qstash#/${ref}`) ?? ajv.compile({ $ref: `qstash#/${ref}` });
  return check(value) ? [] : (check.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

export const schemaErrors = (component: string, value: unknown): string[] =>
  validate(pointer("components", "schemas", component), value);

export const responseErrors = (path: string, method: string, status: number, value: unknown): string[] =>
  validate(pointer("paths", path, method, "responses", String(status), "content", "application/json", "schema"), value);
