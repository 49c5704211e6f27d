/**
 * Keeps a scrolled view at its bottom while the reader is there, the way a chat should: the
 * view follows every change of size — a new message, one still rendering its own shadow DOM
 * after the thread's update, a longer composer — so new messages end fully in view. Only the
 * reader scrolling up lets go; getting back near the bottom (or `stick()`) takes hold again.
 */
import type { ReactiveController, ReactiveControllerHost } from "lit";

export class FollowBottom implements ReactiveController {
  /** the view follows the bottom */
  stuck = true;
  private el: HTMLElement | undefined;
  private content: HTMLElement | undefined;
  private lastTop = 0;
  private readonly resized = new ResizeObserver(() => this.follow());

  constructor(
    host: ReactiveControllerHost,
    /** px from the bottom that still count as "at the bottom" */
    private readonly near = 48,
  ) {
    host.addController(this);
  }

  hostDisconnected(): void {
    this.resized.disconnect();
    this.el = this.content = undefined;
  }

  /** The scrolled element and its content wrapper; call after every render (cheap when unchanged). */
  watch(el: HTMLElement, content: HTMLElement): void {
    if (this.el === el && this.content === content) return;
    this.resized.disconnect();
    this.resized.observe(el);
    this.resized.observe(content);
    this.el = el;
    this.content = content;
  }

  /** Call from the element's scroll event. */
  onScroll(): void {
    const el = this.el;
    if (!el) return;
    // only a move up is the reader's doing: content growing below never lets go
    if (el.scrollHeight - el.scrollTop - el.clientHeight < this.near) this.stuck = true;
    else if (el.scrollTop < this.lastTop - 1) this.stuck = false;
    this.lastTop = el.scrollTop;
  }

  /** Goes to the bottom and stays there. */
  stick(): void {
    this.stuck = true;
    this.follow();
  }

  follow(): void {
    const el = this.el;
    if (!this.stuck || !el) return;
    el.scrollTop = el.scrollHeight;
    this.lastTop = el.scrollTop;
  }
}
