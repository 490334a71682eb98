/**
 * Merges already-sorted async streams into one sorted stream, pulling lazily (a query page at a time),
 * so a page of results reads no more than it needs from each shard.
 */
export async function* mergeSorted<T>(streams: AsyncIterable<T>[], compare: (a: T, b: T) => number): AsyncIterable<T> {
  const iterators = streams.map((s) => s[Symbol.asyncIterator]());
  const heads = await Promise.all(iterators.map((it) => it.next()));
  try {
    for (;;) {
      let best = -1;
      for (let i = 0; i < heads.length; i++) {
        const head = heads[i] as IteratorResult<T>;
        if (head.done) continue;
        if (best < 0 || compare(head.value, (heads[best] as IteratorYieldResult<T>).value) < 0) best = i;
      }
      if (best < 0) return;
      const value = (heads[best] as IteratorYieldResult<T>).value;
      heads[best] = await (iterators[best] as AsyncIterator<T>).next();
      yield value;
    }
  } finally {
    await Promise.all(iterators.map((it, i) => (heads[i]?.done ? undefined : it.return?.())));
  }
}
