/**
 * One run at a time per key (a conversation). Asked again while one runs, it runs once more
 * afterwards (what was committed after the running one's request may be missing), however many
 * times it was asked; whoever asked meanwhile gets that later run's outcome. Used by the store's
 * catch-ups (sync.ts), and by the benchmark's and the fault test's clients, which keep the
 * browser's rule.
 */
export class OneAtATime<T> {
  private running = new Map<string, Promise<T>>();
  private again = new Map<string, Promise<T>>();

  run(key: string, task: () => Promise<T>): Promise<T> {
    const running = this.running.get(key);
    if (running) {
      let again = this.again.get(key);
      if (!again) {
        again = running.then(() => {
          this.again.delete(key);
          return this.run(key, task);
        });
        this.again.set(key, again);
      }
      return again;
    }
    const run = task().finally(() => this.running.delete(key));
    this.running.set(key, run);
    return run;
  }
}
