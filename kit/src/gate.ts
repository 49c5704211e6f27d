/**
 * At most `limit` tasks at once; the others wait their turn in order, urgent ones (the default)
 * before those that said they can wait. With a `queue` bound, a task that finds that many
 * already waiting is refused at once (`refuse()` says with what) rather than piling up work and
 * memory.
 */
export class Gate {
  private running = 0;
  /** waiting their turn: the urgent ones first, then the others, each in arrival order */
  private readonly waiting: { urgent: (() => void)[]; later: (() => void)[] } = { urgent: [], later: [] };
  /** the most that ever ran at once (tests and metrics read it) */
  peak = 0;
  constructor(
    readonly limit: number,
    private readonly bound?: { queue: number; refuse: () => Error },
  ) {}

  /** how many may wait (unbounded without a bound) */
  get queue(): number {
    return this.bound?.queue ?? Number.POSITIVE_INFINITY;
  }

  /** tasks waiting their turn right now */
  get waitingNow(): number {
    return this.waiting.urgent.length + this.waiting.later.length;
  }

  /** `urgent: false`: the task lets every urgent one that is waiting go first */
  async run<T>(task: () => Promise<T>, urgent = true): Promise<T> {
    const leave = await this.enter(urgent);
    try {
      return await task();
    } finally {
      leave();
    }
  }

  /**
   * Takes a place (waiting for one), for work that does not fit in one function: the returned
   * `leave` gives it back; calling it again does nothing.
   */
  async enter(urgent = true): Promise<() => void> {
    // a leaving holder hands its place straight to the next in line, so none can slip past
    if (this.running >= this.limit) {
      if (this.bound && this.waitingNow >= this.bound.queue) throw this.bound.refuse();
      await new Promise<void>((go) => (urgent ? this.waiting.urgent : this.waiting.later).push(go));
    } else this.running++;
    this.peak = Math.max(this.peak, this.running);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      const next = this.waiting.urgent.shift() ?? this.waiting.later.shift();
      if (next) next();
      else this.running--;
    };
  }
}
