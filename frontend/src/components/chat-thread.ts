import { LitElement, css, html, nothing, type PropertyValues } from "lit";
import { customElement, property, query, state } from "lit/decorators.js";
import { keyed } from "lit/directives/keyed.js";
import { repeat } from "lit/directives/repeat.js";
import type { Id } from "@parley/contract";
import { lastOwnSeq, nameOf, peerOf, peerOnline, peerReadSeq, senderName } from "../state/selectors.ts";
import { StoreController } from "../state/store-controller.ts";
import { clock, dayLabel } from "../format.ts";
import { FollowBottom } from "../follow-bottom.ts";
import { threadItems } from "../thread-items.ts";
import { base } from "../styles/tokens.ts";
import "./connection-status.ts";
import "./message-bubble.ts";
import "./message-composer.ts";
import "./send-notice.ts";
import "./typing-indicator.ts";
import "./user-avatar.ts";

const NEAR = 48;

/**
 * One conversation: header, history (older pages load when scrolling up), live messages,
 * typing indicator, the send-limit notice and composer. Follows the bottom (new messages end
 * fully in view) unless the reader scrolled up; then a "New messages" button appears. Marks
 * messages read as they come into view while the tab is visible.
 * @fires back - the user goes back to the list (phone layout, or Escape)
 */
@customElement("chat-thread")
export class ChatThread extends LitElement {
  private s = new StoreController(this);
  @property({ attribute: "conversation-id" }) conversationId: Id = "";
  @property({ type: Boolean, reflect: true }) narrow = false;
  @state() private newBelow = false;
  @query(".scroller") private scroller?: HTMLElement;
  @query(".log") private log?: HTMLElement;
  private bottom = new FollowBottom(this, NEAR);
  private loadingOlder = false;
  /** scroll metrics of the DOM before an update, to keep the view still when history is put above */
  private snapshot = { height: 0, top: 0 };

  static override styles = [
    base,
    css`
      :host { display: flex; flex-direction: column; min-height: 0; min-width: 0; background: var(--bg); position: relative; }
      header {
        display: flex; align-items: center; gap: var(--space-3); padding: 10px var(--space-4);
        background: var(--surface); border-bottom: 1px solid var(--border); min-height: 64px;
      }
      .title { flex: 1; min-width: 0; }
      h2 { margin: 0; font-size: 16px; font-weight: 650; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
      .sub { font-size: 12.5px; color: var(--text-2); overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
      .sub.on { color: var(--success); }
      .back { display: none; }
      :host([narrow]) .back { display: inline-grid; }
      .scroller { flex: 1; overflow-y: auto; padding: var(--space-3) 0 var(--space-4); overscroll-behavior: contain; overflow-anchor: none; }
      .scroller:focus-visible { outline-offset: -3px; }
      .day { display: flex; justify-content: center; margin: var(--space-5) 0 var(--space-2); }
      .day span { font-size: 12px; font-weight: 600; color: var(--text-2); background: var(--surface); padding: 4px 12px; border-radius: 999px; box-shadow: var(--shadow-1); }
      .top-note { text-align: center; font-size: 12.5px; color: var(--text-3); padding: var(--space-3); }
      .empty { margin: auto; max-width: 320px; text-align: center; color: var(--text-2); padding: var(--space-6) var(--space-4); line-height: 1.5; }
      .empty strong { display: block; color: var(--text); font-size: 16px; margin: var(--space-3) 0 var(--space-1); }
      .new-below {
        position: absolute; left: 50%; transform: translateX(-50%); bottom: 96px; z-index: 2;
        border: none; border-radius: 999px; padding: 7px 14px; font-weight: 600; font-size: 13px;
        background: var(--accent); color: var(--on-accent); box-shadow: var(--shadow-2);
      }
    `,
  ];

  override connectedCallback() {
    super.connectedCallback();
    document.addEventListener("visibilitychange", this.markSeen);
  }
  override disconnectedCallback() {
    super.disconnectedCallback();
    document.removeEventListener("visibilitychange", this.markSeen);
  }

  override focus() {
    this.renderRoot.querySelector("message-composer")?.focus();
  }

  /** what the last render showed: the store has already changed by the time an update runs */
  private shown = { first: 0, lastKey: "" };

  protected override willUpdate(changed: PropertyValues<this>) {
    if (changed.has("conversationId")) {
      this.bottom.stuck = true;
      this.newBelow = false;
      this.shown = { first: 0, lastKey: "" };
    }
    const el = this.scroller;
    this.snapshot = { height: el?.scrollHeight ?? 0, top: el?.scrollTop ?? 0 };
  }

  private lastKey(): string {
    const t = this.s.store.thread(this.conversationId);
    return `${t.messages.at(-1)?.id ?? ""}|${t.pending.at(-1)?.clientId ?? ""}`;
  }

  protected override updated() {
    const el = this.scroller;
    if (!el || !this.log) return;
    this.bottom.watch(el, this.log);
    const t = this.s.store.thread(this.conversationId);
    const first = t.messages[0]?.seq ?? 0;
    const lastKey = this.lastKey();
    const before = this.shown;
    this.shown = { first, lastKey };
    const arrived = lastKey !== before.lastKey && !!before.lastKey;
    const newPending = t.pending.at(-1)?.clientId;
    // one's own new message takes the view to the bottom wherever it was
    if (arrived && newPending !== undefined && before.lastKey.split("|")[1] !== newPending) this.bottom.stuck = true;
    if (this.bottom.stuck) this.bottom.follow();
    else {
      // older history was put above: keep what the user was looking at in place
      if (before.first && first < before.first)
        el.scrollTop = this.snapshot.top + (el.scrollHeight - this.snapshot.height);
      if (arrived && t.messages.at(-1)?.senderId !== this.s.store.me?.id) this.newBelow = true;
    }
    // short history that does not fill the screen: fetch more so scrolling up is possible
    if (t.loaded && t.hasOlder && el.scrollHeight <= el.clientHeight + NEAR) void this.loadOlder();
    this.markSeen();
  }

  private onScroll = () => {
    const el = this.scroller;
    if (!el) return;
    this.bottom.onScroll();
    if (this.bottom.stuck && this.newBelow) this.newBelow = false;
    if (el.scrollTop < NEAR * 4) void this.loadOlder();
    this.markSeen();
  };

  private async loadOlder() {
    if (this.loadingOlder) return;
    this.loadingOlder = true;
    try {
      await this.s.store.loadOlder(this.conversationId);
    } finally {
      this.loadingOlder = false;
    }
  }

  /** The highest seq whose bubble is on screen, reported as read — only while the tab is visible. */
  private markSeen = () => {
    const el = this.scroller;
    if (!el || document.visibilityState !== "visible" || !this.conversationId) return;
    const bottom = el.getBoundingClientRect().bottom;
    let seen = 0;
    for (const b of el.querySelectorAll<HTMLElement>("message-bubble[data-seq]")) {
      if (b.getBoundingClientRect().top < bottom - 8) seen = Math.max(seen, Number(b.dataset.seq));
    }
    if (seen) this.s.store.markRead(this.conversationId, seen);
  };

  private jumpToNew() {
    this.bottom.stick();
    this.newBelow = false;
  }

  private onKey(e: KeyboardEvent) {
    if (e.key === "Escape" && this.narrow) {
      e.stopPropagation();
      this.dispatchEvent(new CustomEvent("back", { bubbles: true, composed: true }));
    }
  }

  override render() {
    const st = this.s.store;
    const c = st.conversation(this.conversationId);
    if (!c) return html`<div class="empty">Loading…</div>`;
    const me = st.me?.id ?? "";
    const t = st.thread(c.id);
    const peer = peerOf(st, c);
    const online = peerOnline(st, c) ?? false;
    const name = nameOf(st, c);
    const sub = peer
      ? online
        ? "Online"
        : "Offline"
      : `${c.members.length} members: ${c.members.map((m) => (m.id === me ? "you" : m.username)).join(", ")}`;
    const peerRead = peerReadSeq(st, c);
    const items = threadItems(t, me, c.kind === "group", st.sendPause);
    const waiting = t.pending.filter((p) => p.status === "pending").length;
    const ownSeq = lastOwnSeq(st, t);
    return html`<header>
        <button class="icon-btn back" aria-label="Back to conversations" @click=${() => this.dispatchEvent(new CustomEvent("back", { bubbles: true, composed: true }))}>
          <svg width="20" height="20" viewBox="0 0 24 24" aria-hidden="true" fill="currentColor"><path d="M15.4 7.4 14 6l-6 6 6 6 1.4-1.4L10.8 12z"/></svg></button>
        <user-avatar .name=${name} user-id=${peer?.id ?? c.id} ?group=${c.kind === "group"} .online=${peer ? online : undefined} size="40"></user-avatar>
        <div class="title"><h2>${name}</h2><div class="sub ${online ? "on" : ""}">${sub}</div></div>
        ${this.narrow ? html`<connection-status .status=${st.connection}></connection-status>` : nothing}
      </header>
      <section class="scroller" tabindex="0" aria-label="Messages" @scroll=${this.onScroll} @keydown=${this.onKey}><div class="log">
        ${t.loaded && !t.hasOlder && items.length ? html`<div class="top-note">This is the beginning of your conversation${peer ? ` with ${peer.username}` : ""}.</div>` : nothing}
        ${!t.loaded ? html`<div class="top-note">Loading messages…</div>` : nothing}
        ${
          t.loaded && !items.length
            ? html`<div class="empty"><user-avatar .name=${name} user-id=${peer?.id ?? c.id} ?group=${c.kind === "group"} size="64"></user-avatar>
              <strong>Say hello to ${name}</strong>Messages you send appear here. Press Enter to send, Shift+Enter for a new line.</div>`
            : nothing
        }
        ${repeat(
          items,
          (i) => i.key,
          (i) => {
            const day = i.newDay
              ? html`<div class="day" role="separator" aria-label=${dayLabel(i.createdAt)}><span>${dayLabel(i.createdAt)}</span></div>`
              : nothing;
            return html`${day}<message-bubble data-seq=${i.seq ?? nothing} data-client-id=${i.clientId} .body=${i.body} .time=${clock(i.createdAt)}
            .fullTime=${new Date(i.createdAt).toLocaleString()} ?own=${i.own} .status=${i.status} .wait=${i.wait} .error=${i.error ?? ""}
            .sender=${senderName(st, { senderId: i.senderId, conversationId: c.id })} ?show-sender=${i.showSender} ?continued=${i.continued}
            sender-id=${i.senderId} ?gutter=${c.kind === "group"}
            ?seen=${i.own && i.seq !== undefined && i.seq === ownSeq && peerRead >= i.seq}
            @retry=${() => st.retry(c.id, i.clientId)} @discard=${() => st.discard(c.id, i.clientId)}></message-bubble>`;
          },
        )}
      </div></section>
      ${this.newBelow ? html`<button class="new-below" @click=${this.jumpToNew}>New messages ↓</button>` : nothing}
      <typing-indicator .names=${st.live.typers(c)} aria-live="polite"></typing-indicator>
      <send-notice .until=${st.sendPause?.reason === "rate" ? st.sendPause.until : 0} .waiting=${waiting}></send-notice>
      ${keyed(
        c.id,
        html`<message-composer placeholder="Message ${name}" @send-message=${(e: CustomEvent<{ body: string }>) => {
          this.bottom.stuck = true;
          st.send(c.id, e.detail.body);
        }} @typing=${() => st.typingNow(c.id)} @keydown=${this.onKey}></message-composer>`,
      )}`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "chat-thread": ChatThread;
  }
}
