// The Store contract: one spec, run against every adapter family (message-queue-toolkit style).
// test/contract/sqlite.contract.test.ts runs it on SQLite; aws.contract.test.ts on DynamoDB Local, with log
// events written at once and deferred to a flush (as the Lambda handlers run it): a reader of the log
// flushes first, through the port, as a handler does before it returns.
import { describe, expect, it } from "vitest";
import { newMessageId } from "../../lambdas/core/ids.ts";
import type { DlqEntry, LogEvent, Message } from "../../lambdas/core/message.ts";
import type { LoggedEvent, Positioned, ScanOptions, Store } from "../../lambdas/ports.ts";
import { putRecord } from "../../lambdas/core/records.ts";

export interface StoreFixture {
  store: Store;
  /** The store's clock, when it is not the process's (the scanned log window follows it). */
  now?: () => number;
  close(): Promise<void>;
}

let counter = 0;
export function sampleMessage(overrides: Partial<Message> = {}): Message {
  counter++;
  return {
    messageId: `msg_contract_${Date.now()}_${counter}`,
    url: "https://example.com/hook?x=1",
    method: "POST",
    header: { "Content-Type": ["application/json"], "X-Multi": ["a", "b"] },
    body: new Uint8Array([123, 0, 255, 125]),
    maxRetries: 3,
    labels: ["l1", "l2"],
    notBefore: 1_700_000_000_000,
    createdAt: 1_700_000_000_000,
    callback: { url: "https://example.com/cb", header: { "X-Cb": ["1"] }, retries: 1 },
    ...overrides,
  };
}

async function collect<T>(scan: AsyncIterable<Positioned<T>>): Promise<Positioned<T>[]> {
  const out: Positioned<T>[] = [];
  for await (const item of scan) out.push(item);
  return out;
}

export function storeContract(name: string, open: () => Promise<StoreFixture>): void {
  describe(`Store contract: ${name}`, () => {
    const withStore = (test: (store: Store, now: () => number) => Promise<void>) => async () => {
      const fixture = await open();
      try {
        await test(fixture.store, fixture.now ?? Date.now);
      } finally {
        await fixture.close();
      }
    };

    it(
      "creates a message once and reads it back exactly",
      withStore(async (store) => {
        const message = sampleMessage();
        const created: LogEvent = { time: message.createdAt, messageId: message.messageId, state: "CREATED" };
        expect(await store.createMessage(message, { state: "CREATED", retried: 0 }, [created])).toBe(true);
        expect(
          await store.createMessage({ ...message, url: "https://other" }, { state: "CREATED", retried: 0 }, [created]),
        ).toBe(false);
        const stored = await store.getMessage(message.messageId);
        expect(stored?.status).toEqual({ state: "CREATED", retried: 0 });
        expect(stored?.message).toEqual(message);
        expect(Buffer.from(stored?.message.body ?? []).equals(Buffer.from(message.body))).toBe(true);
        expect(await store.getMessage("msg_missing")).toBeUndefined();
        await store.flushEvents?.(); // as a handler does before it returns
        const events = await collect(store.scanEvents({ order: "earliestFirst", messageIds: [message.messageId] }));
        expect(events.map((e) => e.item.event.state)).toEqual(["CREATED"]); // the duplicate create added no event
      }),
    );

    it(
      "keeps an unlisted message exactly, reads its first status as CREATED, and lets one status change win",
      withStore(async (store, clock) => {
        for (const body of [
          new Uint8Array(0),
          new TextEncoder().encode(JSON.stringify({ payload: "x".repeat(2000) })), // compresses
          new Uint8Array(1024).map((_, i) => (i * 131 + 7) % 251), // does not
          new Uint8Array(150 * 1024).fill(1), // over the inline limit
        ]) {
          // Ids of newMessageId's shape (a publish's), and of another (a derived callback id's).
          for (const id of ["new", "other"] as const) {
            const now = clock();
            const message = sampleMessage({
              body,
              unlisted: true,
              ...(id === "new" ? { messageId: newMessageId(now), createdAt: now, notBefore: now } : {}),
            });
            const created: LogEvent = { time: message.createdAt, messageId: message.messageId, state: "CREATED" };
            expect(await store.createMessage(message, { state: "CREATED", retried: 0 }, [created])).toBe(true);
            expect(await store.createMessage(message, { state: "CREATED", retried: 0 }, [created])).toBe(false);
            const stored = await store.getMessage(message.messageId);
            expect(stored?.message).toEqual(message);
            if (id === "new") {
              // Its CREATED entry is logged once, with the message, by id and in a scan of its time.
              await store.flushEvents?.();
              const byId = await collect(store.scanEvents({ order: "earliestFirst", messageIds: [message.messageId] }));
              expect(byId.map((e) => e.item.event.state)).toEqual(["CREATED"]);
              expect(byId[0]?.item.message).toEqual(message);
              const inTime = await collect(store.scanEvents({ order: "latestFirst", fromTime: now, toTime: now }));
              const own = inTime.filter((e) => e.item.event.messageId === message.messageId);
              expect(own.map((e) => e.item.message)).toEqual([message]);
            }
            expect(Buffer.from(stored?.message.body ?? []).equals(Buffer.from(body))).toBe(true);
            const first = stored?.status as NonNullable<typeof stored>["status"];
            expect({ state: first.state, retried: first.retried }).toEqual({ state: "CREATED", retried: 0 });
            // Two writers from the same first status (a cancel, an attempt's outcome): one wins.
            const results = await Promise.all([
              store.updateStatus(message.messageId, first, { state: "CANCEL_REQUESTED", retried: 0 }, []),
              store.updateStatus(message.messageId, first, { state: "RETRY", retried: 1 }, []),
            ]);
            expect(results.filter(Boolean)).toHaveLength(1);
            const after = await store.getMessage(message.messageId);
            expect(after?.status).toEqual(
              results[0] ? { state: "CANCEL_REQUESTED", retried: 0 } : { state: "RETRY", retried: 1 },
            );
            expect(await store.updateStatus(message.messageId, first, { state: "FAILED", retried: 0 }, [])).toBe(false);
          }
        }
        // Once a pending status is written, the pending messages list it with its message (bulk cancel).
        const now = clock();
        for (const [url, ids] of [
          ["https://example.com/light-retry", {}],
          ["https://example.com/light-retry-new-id", { messageId: newMessageId(now), createdAt: now, notBefore: now }],
        ] as const) {
          const retrying = sampleMessage({ unlisted: true, url, ...ids });
          await store.createMessage(retrying, { state: "CREATED", retried: 0 }, []);
          const first = (await store.getMessage(retrying.messageId))?.status as NonNullable<
            Awaited<ReturnType<Store["getMessage"]>>
          >["status"];
          expect(await store.updateStatus(retrying.messageId, first, { state: "RETRY", retried: 1 }, [])).toBe(true);
        }
        const pending: string[] = [];
        for await (const { message } of store.scanMessages(["RETRY"])) pending.push(message.url);
        expect(pending).toContain("https://example.com/light-retry");
        expect(pending).toContain("https://example.com/light-retry-new-id");
      }),
    );

    it(
      "keeps bodies of any size up to the limit byte-for-byte (large ones outside the item)",
      withStore(async (store) => {
        const body = new Uint8Array(1024 * 1024).map((_, i) => (i * 7) % 256);
        const message = sampleMessage({ body });
        await store.createMessage(message, { state: "CREATED", retried: 0 }, []);
        const stored = await store.getMessage(message.messageId);
        expect(Buffer.from(stored?.message.body ?? []).equals(Buffer.from(body))).toBe(true);
        await store.putDlq({
          dlqId: `1-${message.messageId}`,
          message,
          failedAt: 1,
          retried: 0,
          response: { status: 500, header: {}, body },
        });
        const entry = await store.getDlq(`1-${message.messageId}`);
        expect(Buffer.from(entry?.message.body ?? []).equals(Buffer.from(body))).toBe(true);
        expect(Buffer.from(entry?.response?.body ?? []).equals(Buffer.from(body))).toBe(true);
      }),
    );

    it(
      "updates status only from the expected status (compare-and-set)",
      withStore(async (store) => {
        const message = sampleMessage();
        await store.createMessage(message, { state: "CREATED", retried: 0 }, []);
        const retryEvent: LogEvent = {
          time: message.createdAt + 1,
          messageId: message.messageId,
          state: "RETRY",
          nextDeliveryTime: 5,
        };
        expect(
          await store.updateStatus(
            message.messageId,
            { state: "CREATED", retried: 0 },
            { state: "RETRY", retried: 1 },
            [retryEvent],
          ),
        ).toBe(true);
        // A second writer with the old expectation loses and its events are not appended.
        expect(
          await store.updateStatus(
            message.messageId,
            { state: "CREATED", retried: 0 },
            { state: "DELIVERED", retried: 0 },
            [{ time: message.createdAt + 2, messageId: message.messageId, state: "DELIVERED" }],
          ),
        ).toBe(false);
        expect((await store.getMessage(message.messageId))?.status).toEqual({ state: "RETRY", retried: 1 });
        await store.flushEvents?.(); // as a handler does before it returns
        const events = await collect(store.scanEvents({ order: "earliestFirst", messageIds: [message.messageId] }));
        expect(events.map((e) => e.item.event)).toEqual([retryEvent]);
        expect(
          await store.updateStatus(
            "msg_missing",
            { state: "CREATED", retried: 0 },
            { state: "FAILED", retried: 0 },
            [],
          ),
        ).toBe(false);
      }),
    );

    it(
      "scans events in both orders, resumes after a position without skipping ties, and bounds by time",
      withStore(async (store) => {
        const message = sampleMessage();
        await store.createMessage(message, { state: "CREATED", retried: 0 }, []);
        const base = 1_800_000_000_000;
        // Several events share a millisecond: positions must still order them totally.
        const times = [base, base, base + 1, base + 1, base + 1, base + 2];
        await store.appendEvents(
          times.map((time, i) => ({
            time,
            messageId: message.messageId,
            state: i % 2 ? "ACTIVE" : "ERROR",
            error: `e${i}`,
            response: { status: 500 + i, header: { "X-I": [String(i)] }, body: new Uint8Array([i]) },
          })),
        );
        await store.flushEvents?.(); // as a handler does before it returns
        const forward = await collect(store.scanEvents({ order: "earliestFirst", messageIds: [message.messageId] }));
        expect(forward.map((e) => e.item.event.error)).toEqual(["e0", "e1", "e2", "e3", "e4", "e5"]);
        expect(forward[3]?.item.event.response).toEqual({
          status: 503,
          header: { "X-I": ["3"] },
          body: new Uint8Array([3]),
        });
        expect(forward[0]?.item.message).toEqual(message);

        const backward = await collect(store.scanEvents({ order: "latestFirst", messageIds: [message.messageId] }));
        expect(backward.map((e) => e.item.event.error)).toEqual(["e5", "e4", "e3", "e2", "e1", "e0"]);

        const resumeForward = await collect(
          store.scanEvents({
            order: "earliestFirst",
            messageIds: [message.messageId],
            after: forward[2]?.position as ScanOptions["after"],
          }),
        );
        expect(resumeForward.map((e) => e.item.event.error)).toEqual(["e3", "e4", "e5"]);
        const resumeBackward = await collect(
          store.scanEvents({
            order: "latestFirst",
            messageIds: [message.messageId],
            after: backward[1]?.position as ScanOptions["after"],
          }),
        );
        expect(resumeBackward.map((e) => e.item.event.error)).toEqual(["e3", "e2", "e1", "e0"]);

        // A bare time (the SDK's `cursor = Date.now()`) includes that millisecond.
        const fromTime = await collect(
          store.scanEvents({ order: "latestFirst", messageIds: [message.messageId], after: { time: base + 1 } }),
        );
        expect(fromTime.map((e) => e.item.event.error)).toEqual(["e4", "e3", "e2", "e1", "e0"]);

        const bounded = await collect(
          store.scanEvents({
            order: "earliestFirst",
            messageIds: [message.messageId],
            fromTime: base + 1,
            toTime: base + 1,
          }),
        );
        expect(bounded.map((e) => e.item.event.error)).toEqual(["e2", "e3", "e4"]);
      }),
    );

    it(
      "logs a message's events in the order they were written, among events of the same millisecond, and resumes after any of them",
      withStore(async (store, clock) => {
        const now = clock();
        const earlier = sampleMessage({ messageId: newMessageId(now), createdAt: now, notBefore: now });
        const created = sampleMessage({ messageId: newMessageId(now), createdAt: now, notBefore: now });
        await store.createMessage(earlier, { state: "CREATED", retried: 0 }, [
          { time: now, messageId: earlier.messageId, state: "CREATED" },
        ]);
        await store.appendEvents([{ time: now, messageId: earlier.messageId, state: "ACTIVE" }]);
        await store.createMessage(created, { state: "CREATED", retried: 0 }, [
          { time: now, messageId: created.messageId, state: "CREATED" },
        ]);
        await store.appendEvents([{ time: now, messageId: created.messageId, state: "ACTIVE" }]);
        const ids = [earlier.messageId, created.messageId];
        const entries = (found: Positioned<LoggedEvent>[]) =>
          found.map((e) => [e.item.event.messageId, e.item.event.state]);
        await store.flushEvents?.(); // as a handler does before it returns
        const forward = await collect(store.scanEvents({ order: "earliestFirst", messageIds: ids }));
        // Each message's own events in the order written (messages of one millisecond may interleave).
        for (const id of ids) {
          expect(entries(forward).filter(([m]) => m === id)).toEqual([
            [id, "CREATED"],
            [id, "ACTIVE"],
          ]);
        }
        expect(forward).toHaveLength(4);
        const own = forward.find((e) => e.item.event.messageId === created.messageId);
        expect(own?.item.message?.url).toBe(created.url);
        const backward = await collect(store.scanEvents({ order: "latestFirst", fromTime: now }));
        expect(entries(backward)).toEqual(entries(forward).reverse());
        for (let i = 0; i < forward.length; i++) {
          const rest = await collect(
            store.scanEvents({
              order: "earliestFirst",
              messageIds: ids,
              after: forward[i]?.position as ScanOptions["after"],
            }),
          );
          expect(entries(rest)).toEqual(entries(forward).slice(i + 1));
          const back = await collect(
            store.scanEvents({
              order: "latestFirst",
              fromTime: now,
              after: backward[i]?.position as ScanOptions["after"],
            }),
          );
          expect(entries(back)).toEqual(entries(backward).slice(i + 1));
        }
      }),
    );

    it(
      "logs the events of a message that has no record together with that message",
      withStore(async (store, clock) => {
        const now = clock();
        const carried = sampleMessage({ messageId: newMessageId(now), createdAt: now, notBefore: now });
        const other = sampleMessage({ messageId: newMessageId(now), createdAt: now, notBefore: now });
        const id = carried.messageId;
        await store.appendEvents(
          [
            { time: now, messageId: id, state: "CREATED" },
            { time: now + 1, messageId: id, state: "ACTIVE" },
            { time: now + 1, messageId: other.messageId, state: "CREATED" },
            { time: now + 2, messageId: id, state: "DELIVERED" },
          ],
          [carried, other],
        );
        await store.flushEvents?.(); // as a handler does before it returns
        const own = await collect(store.scanEvents({ order: "earliestFirst", messageIds: [id] }));
        expect(own.map((e) => e.item.event.state)).toEqual(["CREATED", "ACTIVE", "DELIVERED"]);
        expect(own.every((e) => e.item.message?.url === carried.url)).toBe(true);
        expect(Buffer.from(own[0]?.item.message?.body ?? []).equals(Buffer.from(carried.body))).toBe(true);
        const recent = await collect(store.scanEvents({ order: "latestFirst", fromTime: now }));
        expect(recent.map((e) => [e.item.event.messageId, e.item.event.state])).toEqual([
          [id, "DELIVERED"],
          [other.messageId, "CREATED"],
          [id, "ACTIVE"],
          [id, "CREATED"],
        ]);
        expect(recent[1]?.item.message?.messageId).toBe(other.messageId);
        // Resuming after the second entry gives the rest.
        const rest = await collect(
          store.scanEvents({ order: "latestFirst", fromTime: now, after: recent[1]?.position as ScanOptions["after"] }),
        );
        expect(rest.map((e) => e.item.event.state)).toEqual(["ACTIVE", "CREATED"]);
      }),
    );

    it(
      "lists messages by status, oldest first",
      withStore(async (store) => {
        const a = sampleMessage({ createdAt: 1, messageId: "msg_scan_a" });
        const b = sampleMessage({ createdAt: 2, messageId: "msg_scan_b" });
        const c = sampleMessage({ createdAt: 3, messageId: "msg_scan_c" });
        await store.createMessage(b, { state: "RETRY", retried: 1 }, []);
        await store.createMessage(a, { state: "CREATED", retried: 0 }, []);
        await store.createMessage(c, { state: "DELIVERED", retried: 0 }, []);
        const pending: string[] = [];
        for await (const s of store.scanMessages(["CREATED", "RETRY"])) pending.push(s.message.messageId);
        expect(pending).toEqual(["msg_scan_a", "msg_scan_b"]);
      }),
    );

    it(
      "keeps DLQ entries: put is idempotent, get, delete once, scan in order with resume",
      withStore(async (store) => {
        const entries: DlqEntry[] = [0, 1, 2].map((i) => ({
          dlqId: `${1_900_000_000_000 + i}-abc${i}`,
          message: sampleMessage(),
          failedAt: 1_900_000_000_000 + i,
          retried: 3,
          error: "destination answered 500",
          response: { status: 500, header: { "X-Why": ["x"] }, body: new Uint8Array([1, 2, 3]) },
        }));
        for (const entry of entries) await store.putDlq(entry);
        await store.putDlq({ ...(entries[0] as DlqEntry), error: "changed" });
        expect(await store.getDlq(entries[0]?.dlqId as string)).toEqual(entries[0]);

        const all = await collect(store.scanDlq({ order: "earliestFirst" }));
        expect(all.map((e) => e.item.dlqId)).toEqual(entries.map((e) => e.dlqId));
        const rest = await collect(
          store.scanDlq({ order: "earliestFirst", after: all[0]?.position as ScanOptions["after"] }),
        );
        expect(rest.map((e) => e.item.dlqId)).toEqual([entries[1]?.dlqId, entries[2]?.dlqId]);
        const newest = await collect(store.scanDlq({ order: "latestFirst", toTime: 1_900_000_000_001 }));
        expect(newest.map((e) => e.item.dlqId)).toEqual([entries[1]?.dlqId, entries[0]?.dlqId]);

        expect(await store.deleteDlq(entries[1]?.dlqId as string)).toBe(true);
        expect(await store.deleteDlq(entries[1]?.dlqId as string)).toBe(false);
        expect(await store.getDlq(entries[1]?.dlqId as string)).toBeUndefined();
      }),
    );

    it(
      "lists records put with listedAt in time order (ties by name), a page at a time, from an index",
      withStore(async (store) => {
        const kind = "workflowRun" as const;
        // A window of time no other test uses, so the scan sees only these records.
        const base = 4_000_000_000_000 + Math.floor(Math.random() * 1e9) * 1000;
        const window = { fromTime: base, toTime: base + 10_000 };
        const names: { name: string; at: number }[] = [];
        // More than one page of either store (DynamoDB pages of 25 per shard; SQLite chunks of 200).
        for (let i = 0; i < 230; i++) {
          const at = base + Math.floor(i / 3); // three records per ms: ties go by name
          const name = `run-${base}-${String(i).padStart(3, "0")}`;
          names.push({ name, at });
        }
        await Promise.all(
          names.map(({ name, at }) => putRecord(store, kind, name, { name }, undefined, { listedAt: at })),
        );
        // Not listed: without listedAt, or outside the window.
        await putRecord(store, kind, `unlisted-${base}`, { name: "unlisted" }, undefined);
        await putRecord(store, kind, `later-${base}`, { name: "later" }, undefined, { listedAt: base + 20_000 });
        // A compare-and-set put with the same listedAt keeps its place and shows the new value.
        const first = names[0] as { name: string; at: number };
        expect(await putRecord(store, kind, first.name, { name: first.name, v: 2 }, 1, { listedAt: first.at })).toBe(
          true,
        );

        const read = async (order: "earliestFirst" | "latestFirst", after?: { time: number; key: string }) => {
          const out: { time: number; key?: string; value: { name: string; v?: number } }[] = [];
          for await (const { position, item } of store.scanRecords<{ name: string; v?: number }>(kind, {
            order,
            ...window,
            ...(after ? { after } : {}),
          })) {
            out.push({ ...position, value: item });
          }
          return out;
        };
        const oldest = await read("earliestFirst");
        expect(oldest.map((r) => r.key)).toEqual(names.map((n) => n.name));
        expect(oldest.map((r) => r.time)).toEqual(names.map((n) => n.at));
        expect(oldest[0]?.value).toEqual({ name: first.name, v: 2 });
        const newest = await read("latestFirst");
        expect(newest.map((r) => r.key)).toEqual(names.map((n) => n.name).reverse());
        // Resuming after a position gives exactly what follows it, also within a ms.
        const cut = newest[100] as { time: number; key: string };
        expect((await read("latestFirst", cut)).map((r) => r.key)).toEqual(newest.slice(101).map((r) => r.key));
        const cutOld = oldest[4] as { time: number; key: string };
        expect((await read("earliestFirst", cutOld)).map((r) => r.key)).toEqual(oldest.slice(5).map((r) => r.key));
        // Empty and out-of-range windows list nothing (and do not fail): reversed, negative, past 13 digits.
        for (const bounds of [
          { fromTime: base + 10, toTime: base + 5 },
          { toTime: -1 },
          { fromTime: 100_000_000_000_000 },
        ]) {
          const found: string[] = [];
          for await (const { position } of store.scanRecords(kind, { order: "earliestFirst", ...bounds })) {
            found.push(position.key ?? "");
          }
          expect(found).toEqual([]);
        }
      }),
      60_000,
    );

    it(
      "keeps versioned records: create-if-absent, compare-and-set, list by name, delete (also compare-and-set)",
      withStore(async (store) => {
        const kind = "queue" as const;
        const name = `rec-${Date.now()}-${Math.random().toString(36).slice(2)}`;
        expect(await store.getRecord(kind, name)).toBeUndefined();
        expect(await putRecord(store, kind, name, { n: 1 }, undefined)).toBe(true);
        expect(await putRecord(store, kind, name, { n: 99 }, undefined)).toBe(false); // exists
        expect(await store.getRecord(kind, name)).toEqual({ value: { n: 1 }, version: 1 });
        expect(await putRecord(store, kind, name, { n: 2 }, 1)).toBe(true);
        expect(await putRecord(store, kind, name, { n: 3 }, 1)).toBe(false); // stale version
        expect(await store.getRecord(kind, name)).toEqual({ value: { n: 2 }, version: 2 });
        // A conflict answers with the record the write met, so a retry needs no second read.
        expect(await store.swapRecord(kind, name, { n: 3 }, 1)).toEqual({
          written: false,
          current: { value: { n: 2 }, version: 2 },
        });
        expect(await store.swapRecord(kind, name, { n: 3 }, undefined)).toEqual({
          written: false,
          current: { value: { n: 2 }, version: 2 },
        });
        expect(await store.swapRecord(kind, `${name}-absent`, { n: 1 }, 4)).toEqual({
          written: false,
          current: undefined,
        });
        expect(await store.getRecord(kind, `${name}-absent`)).toBeUndefined();
        expect(await store.swapRecord(kind, name, { n: 2, again: true }, 2)).toEqual({ written: true });
        expect(await putRecord(store, kind, name, { n: 2 }, 3)).toBe(true);
        expect(await store.getRecord(kind, name)).toEqual({ value: { n: 2 }, version: 4 });
        // An expiry set in the future changes nothing a reader sees (the store may drop it after then).
        await putRecord(store, kind, `${name}-b`, { n: "b" }, undefined, { expiresAt: Date.now() + 3_600_000 });
        await putRecord(store, "urlGroup", name, { other: "kind" }, undefined);
        const listed = await store.listRecords<{ n: unknown }>(kind);
        const mine = listed.filter((v) => v.n === 2 || v.n === "b");
        expect(mine).toEqual([{ n: 2 }, { n: "b" }]); // by name
        expect(await store.listRecords(kind, `${name}-`)).toEqual([{ n: "b" }]); // by name prefix
        expect(await store.listRecords(kind, `${name}-%_`)).toEqual([]); // a prefix is not a pattern
        expect(await store.deleteRecord(kind, name, 1)).toBe(false); // stale version: kept
        expect(await store.getRecord(kind, name)).toEqual({ value: { n: 2 }, version: 4 });
        expect(await store.deleteRecord(kind, `${name}-b`, 1)).toBe(true);
        expect(await store.getRecord(kind, `${name}-b`)).toBeUndefined();
        expect(await store.deleteRecord(kind, name)).toBe(true);
        expect(await store.deleteRecord(kind, name)).toBe(false);
        expect(await store.getRecord("urlGroup", name)).toEqual({ value: { other: "kind" }, version: 1 });
      }),
    );

    it(
      "lets exactly one of many concurrent compare-and-sets win",
      withStore(async (store) => {
        const name = `race-${Date.now()}-${Math.random().toString(36).slice(2)}`;
        await putRecord(store, "flowControl", name, { winner: "none" }, undefined);
        const results = await Promise.all(
          Array.from({ length: 8 }, (_, i) => putRecord(store, "flowControl", name, { winner: i }, 1)),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        const creates = await Promise.all(
          Array.from({ length: 8 }, (_, i) => putRecord(store, "flowControl", `${name}-new`, { i }, undefined)),
        );
        expect(creates.filter(Boolean)).toHaveLength(1);
      }),
    );

    it(
      "counts atomically: concurrent increments return distinct consecutive values",
      withStore(async (store) => {
        const counter = `counter-${Date.now()}-${Math.random().toString(36).slice(2)}`;
        const values = await Promise.all(Array.from({ length: 20 }, () => store.increment(counter)));
        expect(values.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      }),
    );

    it(
      "keeps queue entries in seq order with a compare-and-set parked flag",
      withStore(async (store) => {
        const queue = `q-${Date.now()}-${Math.random().toString(36).slice(2)}`;
        for (const seq of [3, 1, 12, 2])
          expect(await store.putQueueEntry(queue, { seq, messageId: `m${seq}` })).toBe(true);
        expect(await store.countQueueEntries(queue)).toBe(4);
        expect(await store.headQueueEntries(queue, 3)).toEqual([
          { seq: 1, messageId: "m1", parked: true },
          { seq: 2, messageId: "m2", parked: true },
          { seq: 3, messageId: "m3", parked: true },
        ]);
        const claims = await Promise.all(
          Array.from({ length: 5 }, (_, i) => store.setQueueEntryParked(queue, 1, false, 1_000 + i)),
        );
        expect(claims.filter(Boolean)).toHaveLength(1);
        const [claimed] = await store.headQueueEntries(queue, 1);
        expect(claimed).toMatchObject({ seq: 1, parked: false, claimedAt: expect.any(Number) });
        const at = claimed?.claimedAt as number;
        const reclaims = await Promise.all(
          Array.from({ length: 4 }, () => store.reclaimQueueEntry(queue, 1, at, at + 10)),
        );
        expect(reclaims.filter(Boolean)).toHaveLength(1);
        expect((await store.headQueueEntries(queue, 1))[0]?.claimedAt).toBe(at + 10);
        expect(await store.reclaimQueueEntry(queue, 2, at, at + 10)).toBe(false); // parked: no turn to give again
        expect(await store.setQueueEntryParked(queue, 1, true, 5_000)).toBe(true);
        expect(await store.setQueueEntryParked(queue, 1, true, 5_000)).toBe(false);
        expect((await store.headQueueEntries(queue, 1))[0]?.claimedAt).toBe(at + 10); // parking keeps it
        expect(await store.putQueueEntry(queue, { seq: 1, messageId: "other" })).toBe(false); // exists: unchanged
        expect(await store.putQueueEntry(queue, { seq: 1, messageId: "m1" })).toBe(true); // its own (a retried put)
        expect((await store.headQueueEntries(queue, 1))[0]).toMatchObject({ messageId: "m1", parked: true });
        await store.deleteQueueEntry(queue, 1);
        expect(await store.setQueueEntryParked(queue, 1, false, 6_000)).toBe(false); // gone
        expect((await store.headQueueEntries(queue, 10)).map((e) => e.seq)).toEqual([2, 3, 12]);
        expect(await store.countQueueEntries(queue)).toBe(3);
        expect(await store.countQueueEntries(`${queue}-other`)).toBe(0);
        // Added with its turn taken (a running message pinning its lane): no pump can claim it.
        expect(await store.putQueueEntry(queue, { seq: 20, messageId: "m20", claimedAt: 7_000 })).toBe(true);
        expect((await store.headQueueEntries(queue, 10)).at(-1)).toEqual({
          seq: 20,
          messageId: "m20",
          parked: false,
          claimedAt: 7_000,
        });
        expect(await store.setQueueEntryParked(queue, 20, false, 8_000, 0)).toBe(false);
      }),
    );

    it(
      "claims a deduplication id once, even under concurrent claims, until it expires",
      withStore(async (store) => {
        const id = `dedup-${Date.now()}-${Math.random().toString(36).slice(2)}`;
        const now = 1_800_000_000_000;
        const claims = await Promise.all(
          Array.from({ length: 8 }, (_, i) => store.claimDedup(id, `value-${i}`, now, now + 600_000)),
        );
        const winners = claims.filter((c) => c === undefined);
        expect(winners).toHaveLength(1);
        const held = claims.find((c) => c !== undefined) as string;
        expect(claims.filter((c) => c !== undefined).every((c) => c === held)).toBe(true);
        expect(await store.claimDedup(id, "later", now + 599_999, now + 1_200_000)).toBe(held);
        expect(await store.claimDedup(id, "after-window", now + 600_000, now + 1_200_000)).toBeUndefined();
        expect(await store.claimDedup(id, "again", now + 600_001, now + 1_200_000)).toBe("after-window");
        // Compare-and-set over a live claim.
        expect(await store.claimDedup(id, "done", now + 600_002, now + 1_200_000, "stale")).toBe("after-window");
        expect(await store.claimDedup(id, "done", now + 600_002, now + 1_200_000, "after-window")).toBeUndefined();
        expect(await store.claimDedup(id, "x", now + 600_003, now + 1_200_000)).toBe("done");
      }),
    );
  });
}
