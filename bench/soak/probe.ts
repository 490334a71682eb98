// Preloaded into the Herald process by the soak (`node --import ./bench/soak/probe.ts bin/herald-local.ts`),
// never by Herald itself: Herald's own code runs unchanged. Answers the soak's questions over the IPC
// channel the soak opened: what keeps the event loop alive (`process.getActiveResourcesInfo()`: ref'd timers,
// sockets, servers, requests in progress) and the V8 heap, optionally after a full GC (`--expose-gc`).
export interface ProbeReply {
  /** Active resources by type, e.g. { Timeout: 3, TCPSocketWrap: 40, TCPServerWrap: 1 }. */
  resources: Record<string, number>;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  rss: number;
}

if (process.send) {
  process.on("message", (raw) => {
    const command = raw as { id: number; gc?: boolean };
    const gc = (globalThis as { gc?: () => void }).gc;
    if (command.gc && gc) gc();
    const resources: Record<string, number> = {};
    for (const type of process.getActiveResourcesInfo()) resources[type] = (resources[type] ?? 0) + 1;
    const memory = process.memoryUsage();
    const reply: ProbeReply = {
      resources,
      heapUsed: memory.heapUsed,
      heapTotal: memory.heapTotal,
      external: memory.external,
      arrayBuffers: memory.arrayBuffers,
      rss: memory.rss,
    };
    process.send?.({ id: command.id, result: reply });
  });
  // The channel must not keep Herald alive, nor show among its resources: Herald's own shutdown decides.
  (process.channel as { unref?: () => void } | undefined)?.unref?.();
}
