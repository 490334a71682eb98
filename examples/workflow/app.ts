// A durable workflow on Herald with the official `@upstash/workflow` SDK, unchanged: a node:http app that
// serves the workflow, triggers one run and prints each step as it runs. With Herald running (`npm start`),
// paste the banner's variables and run:
//
//   QSTASH_URL=… QSTASH_TOKEN=… QSTASH_CURRENT_SIGNING_KEY=… QSTASH_NEXT_SIGNING_KEY=… \
//     npx node examples/workflow/app.ts
//
// The app listens on 127.0.0.1:3000 (PORT to change it); Herald must be able to reach it (npm start can).
import http from "node:http";
import { Client as QStashClient, Receiver } from "@upstash/qstash";
import { Client as WorkflowClient, serve } from "@upstash/workflow";

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`set ${name} (npm start prints it)`);
  return value;
};
const baseUrl = env("QSTASH_URL");
const token = env("QSTASH_TOKEN");
const port = Number(process.env.PORT ?? 3000);
const appUrl = `http://127.0.0.1:${port}`;

let finish: (summary: string) => void = () => {};
const finished = new Promise<string>((resolve) => (finish = resolve));

// The workflow: each `context.run` runs once, whatever happens to the app in between; `sleep` holds the
// run in Herald (no process waits); `waitForEvent` resumes when someone notifies.
const { handler } = serve<{ orderId: string }>(
  async (context) => {
    const { orderId } = context.requestPayload;
    const total = await context.run("price the order", async () => {
      console.log(`[${orderId}] pricing`);
      return 42;
    });
    await context.sleep("let the customer change their mind", 2);
    const { eventData, timeout } = await context.waitForEvent("wait for payment", `paid-${orderId}`, { timeout: 30 });
    await context.run("ship", async () => {
      console.log(`[${orderId}] shipping: total ${total}, payment ${JSON.stringify(eventData)}, timed out: ${timeout}`);
      finish(`order ${orderId} shipped`);
    });
  },
  {
    qstashClient: new QStashClient({ baseUrl, token }),
    receiver: new Receiver({
      currentSigningKey: env("QSTASH_CURRENT_SIGNING_KEY"),
      nextSigningKey: env("QSTASH_NEXT_SIGNING_KEY"),
    }),
  },
);

// node:http → web Request with the raw body (the SDK verifies the signature over the exact bytes).
const server = http.createServer((req, res) => {
  void (async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const headers = new Headers();
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      headers.append(req.rawHeaders[i] as string, req.rawHeaders[i + 1] as string);
    }
    const response = await handler(
      new Request(`${appUrl}${req.url ?? "/"}`, { method: req.method ?? "POST", headers, body: Buffer.concat(chunks) }),
    );
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(await response.text());
  })();
});
await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));

const client = new WorkflowClient({ baseUrl, token });
const orderId = `order-${Date.now()}`;
const { workflowRunId } = await client.trigger({ url: `${appUrl}/workflow`, body: { orderId }, retries: 2 });
console.log(`started run ${workflowRunId}`);
// Someone pays: the notify resumes the run waiting for `paid-<orderId>` (retried until it waits).
for (;;) {
  const notified = await client.notify({ eventId: `paid-${orderId}`, eventData: { amount: 42, currency: "EUR" } });
  if (notified.length > 0) break;
  await new Promise((resolve) => setTimeout(resolve, 500));
}
console.log(await finished);
server.close();
