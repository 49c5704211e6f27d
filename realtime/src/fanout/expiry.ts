/**
 * Token expiry for every socket of a replica on one timer. Sockets wait in buckets by the second
 * their token expires; a tick every second closes the buckets that came due. One setTimeout per
 * socket cost a native timer and a closure each, and could not wait longer than ~24.8 days.
 */
export const EXPIRY_TICK_MS = 1000;

export class ExpiryWheel<T> {
  /** second (since the epoch) → what expires in it; arrays, not Sets: a bucket holds one or two */
  private readonly due = new Map<number, T[]>();
  /** every second up to this one has been handled */
  private checked: number;

  constructor(
    private readonly expire: (item: T) => void,
    nowMs = Date.now(),
  ) {
    this.checked = Math.floor(nowMs / 1000);
  }

  /**
   * Waits for `expSec` (seconds since the epoch, as in a JWT). Returns false, keeping nothing,
   * when that moment has already come: the caller closes it now.
   */
  add(item: T, expSec: number, nowMs = Date.now()): boolean {
    if (expSec * 1000 <= nowMs) return false;
    const key = this.keyOf(expSec);
    const bucket = this.due.get(key);
    if (bucket) bucket.push(item);
    else this.due.set(key, [item]);
    return true;
  }

  /** Stops waiting for `item` (its socket closed first). */
  remove(item: T, expSec: number): void {
    const key = this.keyOf(expSec);
    const bucket = this.due.get(key);
    const i = bucket?.indexOf(item) ?? -1;
    if (!bucket || i < 0) return;
    bucket[i] = bucket[bucket.length - 1]!;
    bucket.pop();
    if (bucket.length === 0) this.due.delete(key);
  }

  /** Expires everything due by `nowMs`. */
  tick(nowMs = Date.now()): void {
    const now = Math.floor(nowMs / 1000);
    if (now - this.checked > this.due.size) {
      // a long gap (the clock jumped, the process was paused): visit the buckets, not every second
      for (const key of [...this.due.keys()]) if (key <= now) this.fire(key);
    } else {
      for (let key = this.checked + 1; key <= now; key++) this.fire(key);
    }
    this.checked = Math.max(this.checked, now);
  }

  get size(): number {
    let n = 0;
    for (const bucket of this.due.values()) n += bucket.length;
    return n;
  }

  private fire(key: number): void {
    const bucket = this.due.get(key);
    if (!bucket) return;
    this.due.delete(key);
    for (const item of bucket) this.expire(item);
  }

  /** The bucket of `expSec`: never one already handled (added late, it fires at the next tick). */
  private keyOf(expSec: number): number {
    return Math.max(Math.ceil(expSec), this.checked + 1);
  }
}
