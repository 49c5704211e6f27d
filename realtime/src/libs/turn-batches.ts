/**
 * Work asked within one turn of the event loop, sent together. Consecutive asks of one kind
 * become one batch (at most `max` items), batches go out in the order asked (so a user's
 * "arrived" and a quick "left" stay in that order), and each asker hears when its batch settled
 * (never rejected: `send` reports its own failures). Where a burst, such as a replica's users all
 * reconnecting at once, would otherwise cost Redis one command or round trip per user.
 */
type Batch<Kind, Item> = { kind: Kind; items: Item[]; done: ReturnType<typeof Promise.withResolvers<void>> };

export class TurnBatches<Kind extends string, Item> {
  private readonly queue: Batch<Kind, Item>[] = [];
  private scheduled = false;

  constructor(
    private readonly send: (kind: Kind, items: Item[]) => Promise<unknown>,
    readonly max = 500,
  ) {}

  add(kind: Kind, item: Item): Promise<void> {
    let batch = this.queue.at(-1);
    if (!batch || batch.kind !== kind || batch.items.length >= this.max) {
      batch = { kind, items: [], done: Promise.withResolvers<void>() };
      this.queue.push(batch);
    }
    batch.items.push(item);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
    return batch.done.promise;
  }

  /** Sends every queued batch at once, in order (one connection keeps them in that order). */
  private flush(): void {
    this.scheduled = false;
    for (const batch of this.queue.splice(0)) {
      let sent: Promise<unknown>;
      try {
        sent = this.send(batch.kind, batch.items);
      } catch (err) {
        sent = Promise.reject(err);
      }
      sent.then(
        () => batch.done.resolve(),
        () => batch.done.resolve(),
      );
    }
  }
}
