// The web console in a real Chromium, as a user drives it (labels and roles, never CSS classes where a role
// exists), checked against what the API and the destination see. One Herald, sink and browser per mode.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Locator, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, expect, it, vi } from "vitest";
import { openPage, SuiteBrowser, type ConsolePage } from "../support/browser.ts";
import { describeEachMode, eventually, readMessage, useHeraldWithSink } from "../support/herald.ts";
import type { SinkReply } from "../support/sink.ts";

// A browser test waits on a page, the API and a destination in turn: more than the default 30 s when slow.
vi.setConfig({ testTimeout: 60_000 });

const TIMEOUT = 20_000;
const FAIL_BODY = "the console's destination is down";
const PUBLISHED_BODY = "hello from the console";
const SCREENSHOT_DIR = join(import.meta.dirname, "../../docs/console");

/** Buttons that change state: a read-only token must see none of them enabled. */
const WRITE_BUTTONS = [
  "Cancel",
  "Retry",
  "Delete",
  "Pause",
  "Resume",
  "Reset",
  "Rotate",
  "Reveal",
  "Publish",
  "Remove",
  "Save",
  "Create",
  "Add",
];

interface LogEvent {
  state: string;
  responseStatus?: number;
}

describeEachMode("the web console", (mode) => {
  const setup = useHeraldWithSink({ mode });
  const browser = new SuiteBrowser();
  /** Every page opened, to check for page errors after each test. */
  const pages: ConsolePage[] = [];
  let tab: ConsolePage;
  /** The writer's page of the scenarios that run after the read-only one. */
  let writerTab: ConsolePage | undefined;
  let page: Page;
  /** What the scenarios made, for the later ones (and the screenshots) to use. */
  const made = { delayedId: "", failedId: "", scheduleId: "", publishedId: "", dlqKeptId: "" };

  const url = (): string => setup.herald.server.url;
  const nav = (): Locator => page.getByRole("navigation", { name: "Views" });
  /**
   * Opens a view and waits until it is the one shown: the click's hashchange renders it a moment later, and
   * the view before may have fields of the same labels (the schedule form's Destination and Body), which a
   * fill made meanwhile would go to.
   */
  const goTo = async (view: string): Promise<void> => {
    await nav().getByRole("link", { name: view, exact: true }).click();
    await page.locator("main h1", { hasText: new RegExp(`^${view}$`) }).waitFor();
  };
  const button = (name: string, on: Page = page): Locator => on.getByRole("button", { name, exact: true });
  const settled = (on: Page = page): Promise<boolean> =>
    eventually(async () => ((await on.locator('[aria-busy="true"]').count()) === 0 ? true : undefined), TIMEOUT);

  async function events(messageId: string): Promise<LogEvent[]> {
    const res = await setup.herald.api(`/v2/events?messageId=${messageId}&order=earliestFirst`);
    return ((await res.json()) as { events: LogEvent[] }).events;
  }

  async function dlqIds(messageId?: string): Promise<string[]> {
    const res = await setup.herald.api(`/v2/dlq${messageId ? `?messageId=${messageId}` : ""}`);
    return ((await res.json()) as { messages: { dlqId: string }[] }).messages.map((m) => m.dlqId);
  }

  async function isPaused(scheduleId: string): Promise<boolean> {
    return ((await (await setup.herald.api(`/v2/schedules/${scheduleId}`)).json()) as { isPaused: boolean }).isPaused;
  }

  async function signIn(on: Page, token: string): Promise<void> {
    await on.goto(`${url()}/console`);
    await on.getByLabel("Token").fill(token);
    await button("Sign in", on).click();
  }

  beforeAll(async () => {
    setup.sink.reply = (request, count): SinkReply => {
      if (request.path === "/console-fail") return count <= 1 ? { status: 500, body: FAIL_BODY } : { status: 200 };
      if (request.path === "/console-down" || request.path === "/console-storm")
        return { status: 500, body: FAIL_BODY };
      return { status: 200, body: "ok" };
    };
    await browser.start();
    tab = await openPage(browser.instance);
    pages.push(tab);
    page = tab.page;
    page.setDefaultTimeout(TIMEOUT);
  });

  afterAll(async () => {
    for (const opened of pages) await opened.close();
    await browser.close();
  });

  afterEach(() => {
    for (const opened of pages) expect(opened.problems.pageErrors).toEqual([]);
  });

  it("signs in: a wrong token shows the API's 401 message, the real one the views", async () => {
    const answer = await setup.herald.api("/v2/keys", { token: "not-the-token" });
    expect(answer.status).toBe(401);
    const { error } = (await answer.json()) as { error: string };
    expect(error).toMatch(/invalid token/);

    await signIn(page, "not-the-token");
    await page.getByRole("alert").filter({ hasText: error }).waitFor();
    expect(await page.getByRole("alert").textContent()).toBe(error);
    expect(await nav().count()).toBe(0);

    await page.getByLabel("Token").fill(setup.herald.server.token);
    await button("Sign in").click();
    await nav().waitFor();
    const links = await nav().getByRole("link").allTextContents();
    expect(links).toEqual([
      "Messages",
      "Logs",
      "DLQ",
      "Schedules",
      "Queues",
      "URL Groups",
      "Flow Control",
      "Publish",
      "Keys",
    ]);
    expect(await button("Sign out").isVisible()).toBe(true);
    expect(await page.getByText("read-only", { exact: true }).count()).toBe(0);
  });

  it("finds a delayed message by its id and shows its body and URL", async () => {
    const destination = `${setup.sink.url}/console-delayed`;
    const { messageId } = await setup.herald.client.publishJSON({
      url: destination,
      body: { hello: "console" },
      delay: 3600,
    });
    made.delayedId = messageId;
    await goTo("Messages");
    await page.getByLabel("Message ID").fill(messageId);
    await button("Look up").click();
    const article = page.getByRole("article", { name: `Message ${messageId}` });
    await article.waitFor();
    const text = (await article.textContent()) ?? "";
    expect(text).toContain('{"hello":"console"}');
    expect(text).toContain(destination);
    expect(page.url()).toContain(`#/messages?id=${messageId}`);
    // What the console shows is the API's message, still pending.
    expect(await readMessage(setup.herald, messageId)).toMatchObject({ messageId, url: destination });
    expect(setup.sink.at("/console-delayed")).toHaveLength(0);
  });

  it("reads a failed message's timeline from the logs: its states, response status and body", async () => {
    const { messageId } = await setup.herald.client.publish({
      url: `${setup.sink.url}/console-fail`,
      body: "doomed",
      retries: 0,
    });
    made.failedId = messageId;
    const apiEvents = await eventually(async () => {
      const list = await events(messageId);
      return list.some((event) => event.state === "FAILED") ? list : undefined;
    }, TIMEOUT);

    await goTo("Logs");
    await page
      .getByRole("link", { name: `Timeline of ${messageId}` })
      .first()
      .click();
    await page.getByRole("heading", { name: `Timeline of ${messageId}` }).waitFor();
    const timeline = page.getByRole("list", { name: "Timeline" });
    await timeline.waitFor();
    expect(page.url()).toContain(`#/timeline?messageId=${messageId}`);
    const states = await timeline.locator(".timeline-head .state").allTextContents();
    expect(states).toEqual(apiEvents.map((event) => event.state));
    expect(states[0]).toBe("CREATED");
    expect(states.at(-1)).toBe("FAILED");
    const text = (await timeline.textContent()) ?? "";
    expect(text).toContain("Response status 500");
    expect(text).toContain(FAIL_BODY);
  });

  it("retries the failed message from the DLQ: the destination gets it again and the entry goes", async () => {
    const [dlqId] = await eventually(async () => {
      const ids = await dlqIds(made.failedId);
      return ids.length > 0 ? ids : undefined;
    }, TIMEOUT);
    expect(dlqId).toBeDefined();

    await goTo("DLQ");
    const retry = page.getByRole("button", { name: `Retry ${dlqId}`, exact: true });
    await retry.waitFor();
    const row = page.getByRole("row").filter({ has: retry });
    const rowText = (await row.textContent()) ?? "";
    expect(rowText).toContain(made.failedId);
    expect(rowText).toContain(`${setup.sink.url}/console-fail`);
    expect(await row.locator('td[data-label="Last response"]').textContent()).toBe(`500 ${FAIL_BODY}`);

    await retry.click();
    const [, again] = await setup.sink.waitFor("/console-fail", 2, TIMEOUT);
    expect(again?.body.toString()).toBe("doomed");
    await retry.waitFor({ state: "detached" });
    await page.getByRole("status").filter({ hasText: "Retried as" }).first().waitFor();
    expect(await dlqIds(made.failedId)).toEqual([]);
  });

  it("pauses and resumes a schedule", async () => {
    const { scheduleId } = await setup.herald.client.schedules.create({
      destination: `${setup.sink.url}/console-scheduled`,
      cron: "0 0 1 1 *",
      body: "yearly",
    });
    made.scheduleId = scheduleId;

    await goTo("Schedules");
    await page.getByRole("link", { name: `Details of ${scheduleId}` }).waitFor();
    await page.getByRole("button", { name: `Pause ${scheduleId}`, exact: true }).click();
    await eventually(async () => ((await isPaused(scheduleId)) ? true : undefined), TIMEOUT);
    const row = page.getByRole("row").filter({ has: page.getByRole("link", { name: `Details of ${scheduleId}` }) });
    await row.getByRole("button", { name: `Resume ${scheduleId}`, exact: true }).waitFor();
    expect(await row.textContent()).toContain("Paused");

    await page.getByRole("button", { name: `Resume ${scheduleId}`, exact: true }).click();
    await eventually(async () => ((await isPaused(scheduleId)) ? undefined : true), TIMEOUT);
    await row.getByRole("button", { name: `Pause ${scheduleId}`, exact: true }).waitFor();
    expect(await row.textContent()).toContain("Active");
  });

  it("publishes from the Publish view and links the answer to the message's timeline", async () => {
    await goTo("Publish");
    await page.getByLabel("Destination").fill(`${setup.sink.url}/console-published`);
    await page.getByLabel("Body").fill(PUBLISHED_BODY);
    await button("Publish").click();

    const [got] = await setup.sink.waitFor("/console-published", 1, TIMEOUT);
    expect(got?.body.toString()).toBe(PUBLISHED_BODY);
    // No Content-Type field filled in, none sent (a string body made fetch add text/plain of its own).
    expect(got?.headers["content-type"]).toBeUndefined();
    const messageId = String(got?.headers["upstash-message-id"]);
    made.publishedId = messageId;
    const answer = page.getByRole("status").filter({ hasText: "Published" });
    await answer.getByText(messageId, { exact: true }).waitFor();

    await eventually(async () => ((await events(messageId)).some((e) => e.state === "DELIVERED") ? true : undefined));
    await answer.getByRole("link", { name: "Timeline", exact: true }).click();
    await page.getByRole("heading", { name: `Timeline of ${messageId}` }).waitFor();
    const timeline = page.getByRole("list", { name: "Timeline" });
    await timeline.waitFor();
    const states = await timeline.locator(".timeline-head .state").allTextContents();
    expect(states[0]).toBe("CREATED");
    expect(states.at(-1)).toBe("DELIVERED");
  });

  it("shows a read-only token no enabled control that changes state, and changes nothing", async () => {
    // A DLQ entry that stays, so the DLQ view has rows whose buttons a writer would see.
    const { messageId } = await setup.herald.client.publish({
      url: `${setup.sink.url}/console-down`,
      body: "stays",
      retries: 0,
    });
    const [keptDlqId] = await eventually(async () => {
      const ids = await dlqIds(messageId);
      return ids.length > 0 ? ids : undefined;
    }, TIMEOUT);
    made.dlqKeptId = keptDlqId as string;
    const before = {
      dlq: await dlqIds(),
      paused: await isPaused(made.scheduleId),
      keys: await (await setup.herald.api("/v2/keys")).json(),
      delayed: await readMessage(setup.herald, made.delayedId),
    };

    await button("Sign out").click();
    await page.getByLabel("Token").waitFor();
    expect(await nav().count()).toBe(0);
    await page.getByLabel("Token").fill(setup.herald.server.readOnlyToken);
    await button("Sign in").click();
    await nav().waitFor();
    await page.getByText("read-only", { exact: true }).waitFor();

    const views = ["Messages", "Logs", "DLQ", "Schedules", "Queues", "URL Groups", "Flow Control", "Publish", "Keys"];
    for (const view of views) {
      await goTo(view);
      await page.getByRole("heading", { level: 1, name: view, exact: true }).waitFor();
      if (view === "Messages") {
        await page.getByLabel("Message ID").fill(made.delayedId);
        await button("Look up").click();
        await page.getByRole("article", { name: `Message ${made.delayedId}` }).waitFor();
      }
      if (view === "Logs")
        await page
          .getByRole("link", { name: `Timeline of ${made.failedId}` })
          .first()
          .waitFor();
      if (view === "DLQ") await page.getByText(made.dlqKeptId, { exact: true }).waitFor();
      if (view === "Schedules") await page.getByRole("link", { name: `Details of ${made.scheduleId}` }).waitFor();
      if (view === "Publish") {
        expect(await page.getByLabel("Destination").isDisabled()).toBe(true);
        expect(await button("Publish").isDisabled()).toBe(true);
      }
      await settled();
      for (const word of WRITE_BUTTONS) {
        const found = page.getByRole("button", { name: new RegExp(`^${word}\\b`) });
        for (const control of await found.all()) {
          expect(await control.isDisabled(), `${view}: button ${await control.textContent()}`).toBe(true);
        }
      }
    }
    // The schedule's details too: no Pause/Resume/Delete there either.
    await page.goto(`${url()}/console#/schedules?id=${made.scheduleId}`);
    await page.getByRole("article", { name: `Schedule ${made.scheduleId}` }).waitFor();
    await settled();
    expect(await page.getByRole("button", { name: /^(Pause|Resume|Delete)\b/ }).count()).toBe(0);

    expect(await dlqIds()).toEqual(before.dlq);
    expect(await isPaused(made.scheduleId)).toBe(before.paused);
    expect(await (await setup.herald.api("/v2/keys")).json()).toEqual(before.keys);
    expect(await readMessage(setup.herald, made.delayedId)).toEqual(before.delayed);
  });

  it("logged no page error, and console errors only for the wrong token's 401 and the read-only probe's 403", () => {
    expect(tab.problems.pageErrors).toEqual([]);
    const keys = `${url()}/v2/keys`;
    expect(tab.problems.consoleErrors).toHaveLength(2);
    expect(tab.problems.consoleErrors[0]).toMatch(
      new RegExp(`^Failed to load resource: the server responded with a status of 401\\b.* \\(${escape(keys)}\\)$`),
    );
    expect(tab.problems.consoleErrors[1]).toMatch(
      new RegExp(`^Failed to load resource: the server responded with a status of 403\\b.* \\(${escape(keys)}\\)$`),
    );
  });

  if (mode === "local") {
    it("takes the documentation's screenshots (written with HERALD_UPDATE_SCREENSHOTS=1)", async () => {
      const shots: [string, Buffer][] = [];
      const desktop = await openPage(browser.instance, { width: 1280, height: 800 });
      pages.push(desktop);
      const on = desktop.page;
      on.setDefaultTimeout(TIMEOUT);
      await signIn(on, setup.herald.server.token);
      await on.getByRole("navigation", { name: "Views" }).waitFor();

      const shoot = async (name: string, hash: string, ready: Locator): Promise<void> => {
        await on.goto(`${url()}/console${hash}`);
        await ready.waitFor();
        await settled(on);
        shots.push([name, await on.screenshot()]);
      };
      await shoot(
        "messages",
        `#/messages?id=${made.delayedId}`,
        on.getByRole("article", { name: `Message ${made.delayedId}` }),
      );
      await shoot("logs", `#/timeline?messageId=${made.failedId}`, on.getByRole("list", { name: "Timeline" }));
      await shoot("dlq", "#/dlq", on.getByRole("button", { name: `Retry ${made.dlqKeptId}`, exact: true }));
      await shoot(
        "schedules",
        `#/schedules?id=${made.scheduleId}`,
        on.getByRole("article", { name: `Schedule ${made.scheduleId}` }),
      );
      await on.goto(`${url()}/console#/publish`);
      await on.getByLabel("Destination").fill(`${setup.sink.url}/console-screenshot`);
      await on.getByLabel("Body").fill('{"hello":"console"}');
      await on.getByLabel("Content type").fill("application/json");
      await button("Publish", on).click();
      await on.getByRole("status").filter({ hasText: "Published" }).getByRole("link", { name: "Timeline" }).waitFor();
      await setup.sink.waitFor("/console-screenshot", 1, TIMEOUT);
      await on.getByRole("status").filter({ hasText: "Published" }).scrollIntoViewIfNeeded();
      shots.push(["publish", await on.screenshot()]);

      const phone = await openPage(browser.instance, { width: 390, height: 844 });
      pages.push(phone);
      phone.page.setDefaultTimeout(TIMEOUT);
      await signIn(phone.page, setup.herald.server.token);
      await phone.page.getByRole("navigation", { name: "Views" }).getByRole("link", { name: "Logs" }).click();
      await phone.page
        .getByRole("link", { name: `Timeline of ${made.failedId}` })
        .first()
        .click();
      await phone.page.getByRole("list", { name: "Timeline" }).waitFor();
      await settled(phone.page);
      // Long ids wrap: nothing makes a phone scroll sideways.
      expect(await phone.page.evaluate<number>("document.documentElement.scrollWidth")).toBeLessThanOrEqual(390);
      shots.push(["logs-phone", await phone.page.screenshot()]);

      const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
      for (const [name, png] of shots) {
        expect(png.length, name).toBeGreaterThan(1000);
        expect(png.subarray(0, 8).equals(PNG), name).toBe(true);
      }
      if (process.env.HERALD_UPDATE_SCREENSHOTS === "1") {
        mkdirSync(SCREENSHOT_DIR, { recursive: true });
        for (const [name, png] of shots) writeFileSync(join(SCREENSHOT_DIR, `${name}.png`), png);
      }
      expect(desktop.problems).toEqual({ consoleErrors: [], pageErrors: [] });
      expect(phone.problems).toEqual({ consoleErrors: [], pageErrors: [] });
    });
  }

  // The writer's scenarios below fill the DLQ and the logs with more than a page each, so they run after the
  // read-only test and the screenshots (which read the first pages), on a page of their own signed in as a writer.
  it("signs in a writer again on a page of its own", async () => {
    const writer = await openPage(browser.instance);
    pages.push(writer);
    writerTab = writer;
    page = writer.page;
    page.setDefaultTimeout(TIMEOUT);
    await signIn(page, setup.herald.server.token);
    await nav().waitFor();
  });

  it("retries and deletes all DLQ entries matching the filters applied, each once, and not what is only typed", async () => {
    const storm = `${setup.sink.url}/console-storm`;
    const stormIds = async (): Promise<string[]> => {
      const res = await setup.herald.api(`/v2/dlq?url=${encodeURIComponent(storm)}&count=1000`);
      return ((await res.json()) as { messages: { dlqId: string }[] }).messages.map((m) => m.dlqId);
    };
    // More than a page of the bulk routes (100): a retried entry that failed again used to be retried again.
    const count = 120;
    await setup.herald.client.batch(
      Array.from({ length: count }, (_, i) => ({ url: storm, body: `storm ${i}`, retries: 0 })),
    );
    await eventually(async () => ((await stormIds()).length === count ? true : undefined), 3 * TIMEOUT);
    const everyDlqId = async (): Promise<string[]> => {
      const res = await setup.herald.api("/v2/dlq?count=1000");
      return ((await res.json()) as { messages: { dlqId: string }[] }).messages.map((m) => m.dlqId);
    };
    const stormed = new Set(await stormIds());
    const others = (await everyDlqId()).filter((id) => !stormed.has(id));
    const asked: string[] = [];
    page.on("dialog", (dialog) => void asked.push(dialog.message()));

    await goTo("DLQ");
    await settled();
    await page.getByLabel("URL", { exact: true }).fill(storm);
    // Typed, not applied: the bulk actions would use the list's filters (none), so they wait.
    expect(await button("Retry all matching").isDisabled()).toBe(true);
    expect(await button("Delete all matching").isDisabled()).toBe(true);
    await button("Apply filters").click();
    await page.waitForURL(/#\/dlq\?url=/);
    await settled();
    const before = setup.sink.at("/console-storm").length;
    await button("Retry all matching").click();
    await page
      .getByRole("status")
      .filter({ hasText: `Retried ${count} messages` })
      .waitFor();
    expect(asked.at(-1)).toBe(`Retry every entry matching URL = ${storm}?`);
    // Every retry failed again (a new entry each), and the destination got each message once more.
    await eventually(async () => ((await stormIds()).length === count ? true : undefined), 3 * TIMEOUT);
    expect(setup.sink.at("/console-storm").length - before).toBe(count);

    await button("Delete all matching").click();
    await page
      .getByRole("status")
      .filter({ hasText: `Deleted ${count} entries` })
      .waitFor();
    expect(asked.at(-1)).toBe(`Delete every entry matching URL = ${storm}?`);
    expect(await stormIds()).toEqual([]);
    expect(await everyDlqId()).toEqual(others);
    // A notice belongs to its action: the list drawn again for the filters does not show it again.
    await button("Apply filters").click();
    await eventually(async () => ((await page.locator("p.status").textContent()) === "" ? true : undefined));
  });

  it("keeps a queue's pause when setting its parallelism, asks before removing an endpoint, says what it deleted", async () => {
    const asked: string[] = [];
    page.on("dialog", (dialog) => void asked.push(dialog.message()));
    const queueName = "console-queue";
    await setup.herald.api("/v2/queues", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ queueName, parallelism: 1 }),
    });
    await goTo("Queues");
    await button(`Set parallelism of ${queueName}`).waitFor();
    // Paused by someone else after the page loaded: the page still shows it running.
    await setup.herald.api(`/v2/queues/${queueName}/pause`, { method: "POST" });
    await page.getByLabel(`Parallelism of ${queueName}`, { exact: true }).fill("3");
    await button(`Set parallelism of ${queueName}`).click();
    await page
      .getByRole("status")
      .filter({ hasText: `${queueName}: parallelism 3` })
      .waitFor();
    const queue = (await (await setup.herald.api(`/v2/queues/${queueName}`)).json()) as Record<string, unknown>;
    expect(queue).toMatchObject({ parallelism: 3, paused: true });

    const endpoint = `${setup.sink.url}/console-endpoint`;
    await setup.herald.client.urlGroups.addEndpoints({ name: "console-group", endpoints: [{ url: endpoint }] });
    await goTo("URL Groups");
    await button(`Remove ${endpoint} from console-group`).click();
    await eventually(async () =>
      (await setup.herald.api("/v2/topics/console-group")).status === 404 ? true : undefined,
    );
    expect(asked.at(-1)).toBe(
      `Remove ${endpoint}, the last endpoint of console-group? The URL group is deleted with it.`,
    );

    // A deletion that goes back to the list says so there (the list's redraw kept the notice).
    const { scheduleId } = await setup.herald.client.schedules.create({
      destination: `${setup.sink.url}/console-scheduled`,
      cron: "0 0 1 1 *",
    });
    await page.goto(`${url()}/console#/schedules?id=${scheduleId}`);
    const details = page.getByRole("article", { name: `Schedule ${scheduleId}` });
    await details.getByRole("button", { name: `Delete ${scheduleId}`, exact: true }).click();
    await page
      .getByRole("status")
      .filter({ hasText: `Deleted ${scheduleId}` })
      .waitFor();
    expect((await setup.herald.api(`/v2/schedules/${scheduleId}`)).status).toBe(404);
  });

  it("shows the whole timeline of a message whose events fill more than a page of the logs", async () => {
    // Each event carries the 900 KB body, and the API ends a page at a few MiB of bodies.
    const { messageId } = await setup.herald.client.publish({
      url: `${setup.sink.url}/console-down`,
      body: "b".repeat(900_000),
      retries: 1,
      retryDelay: "100",
    });
    const states: string[] = [];
    await eventually(async () => {
      states.length = 0;
      let cursor = "";
      do {
        const res = await setup.herald.api(`/v2/events?messageId=${messageId}&order=earliestFirst&cursor=${cursor}`);
        const page = (await res.json()) as { events: LogEvent[]; cursor?: string };
        states.push(...page.events.map((event) => event.state));
        cursor = page.cursor ?? "";
      } while (cursor);
      return states.includes("FAILED") ? true : undefined;
    }, 3 * TIMEOUT);
    await page.goto(`${url()}/console#/timeline?messageId=${messageId}`);
    const timeline = page.getByRole("list", { name: "Timeline" });
    await timeline.waitFor();
    expect(await timeline.locator(".timeline-head .state").allTextContents()).toEqual(states);
    expect(await page.locator("dl.details dd .state").textContent()).toBe("FAILED");
  });
  it("logged no console error on the writer's page", () => {
    expect(writerTab?.problems).toEqual({ consoleErrors: [], pageErrors: [] });
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
