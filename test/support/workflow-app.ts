// A workflow app as a team runs one: the official `@upstash/workflow` SDK's generic `serve` behind a small
// node:http bridge that hands it the raw body (the express adapter re-serializes JSON, which breaks the
// signature; the h3 adapter builds the URL from x-forwarded-proto). Every delivery is verified by the SDK's
// own Receiver with the Herald's signing keys: a bad signature fails the request.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Client as QStashClient, Receiver } from "@upstash/qstash";
import { Client as WorkflowClient, serve, type RouteFunction, type WorkflowServeOptions } from "@upstash/workflow";
import type { TestHerald } from "./herald.ts";

export interface ReceivedCall {
  path: string;
  headers: Record<string, string>;
  body: string;
  status: number;
}

export interface WorkflowApp {
  /** The app's base URL: a workflow served at `path` is `${url}${path}`. */
  url: string;
  /** Every request the app received, with the status it answered. */
  received: ReceivedCall[];
  /** Serves a workflow at `path` (e.g. "/wf/steps"). */
  route<T>(path: string, workflow: RouteFunction<T, unknown>, options?: WorkflowServeOptions<T, unknown>): void;
  close(): Promise<void>;
}

/**
 * What the app needs of a Herald: its URL and token for the SDK's clients, and a plain API call (the signing
 * keys). A TestHerald is one; the AWS cost bench passes its counting proxy's URL.
 */
export type WorkflowHost = Pick<TestHerald, "api"> & { server: Pick<TestHerald["server"], "url" | "token"> };

/** The SDK's clients pointed at a test Herald: QStash for serve, Workflow for triggering and admin calls. */
export async function workflowClients(herald: WorkflowHost): Promise<{
  qstash: QStashClient;
  workflow: WorkflowClient;
  receiver: Receiver;
}> {
  const keys = (await (await herald.api("/v2/keys")).json()) as { current: string; next: string };
  return {
    qstash: new QStashClient({ baseUrl: herald.server.url, token: herald.server.token }),
    workflow: new WorkflowClient({ baseUrl: herald.server.url, token: herald.server.token }),
    receiver: new Receiver({ currentSigningKey: keys.current, nextSigningKey: keys.next }),
  };
}

export async function startWorkflowApp(herald: WorkflowHost): Promise<WorkflowApp> {
  const { qstash, receiver } = await workflowClients(herald);
  const handlers = new Map<string, (request: Request) => Promise<Response>>();
  const received: ReceivedCall[] = [];
  const server = http.createServer((req, res) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      const path = (req.url ?? "/").split("?")[0] as string;
      const headers = new Headers();
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        headers.append(req.rawHeaders[i] as string, req.rawHeaders[i + 1] as string);
      }
      const handler = handlers.get(path);
      let status = 404;
      let text = "no workflow here";
      let responseHeaders: Record<string, string> = {};
      if (handler) {
        const response = await handler(
          new Request(`${url}${req.url ?? "/"}`, {
            method: req.method ?? "POST",
            headers,
            ...(req.method === "GET" || req.method === "HEAD" ? {} : { body }),
          }),
        );
        status = response.status;
        text = await response.text();
        responseHeaders = Object.fromEntries(response.headers);
      }
      received.push({ path, headers: Object.fromEntries(headers), body: body.toString(), status });
      res.writeHead(status, responseHeaders);
      res.end(text);
    })().catch((error: unknown) => {
      res.writeHead(500);
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    received,
    route(path, workflow, options = {}) {
      handlers.set(path, serve(workflow, { qstashClient: qstash, receiver, ...options }).handler);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
