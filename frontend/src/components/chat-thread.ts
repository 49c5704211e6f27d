import { LitElement, css, html, nothing, type PropertyValues } from "lit";
import { customElement, property, query, state } from "lit/decorators.js";
import { keyed } from "lit/directives/keyed.js";
import { repeat } from "lit/directives/repeat.js";
import type { Id } from "@parley/contract";
import {
  lastOwnSeq,
  nameOf,
  peerOf,
  peerOnline,
  peerReadSeq,
  quoteOf,
  senderName,
  systemText,
} from "../state/selectors.ts";
import { StoreController } from "../state/store-controller.ts";
import { clock, dayLabel } from "../format.ts";
import { FollowBottom } from "../follow-bottom.ts";
import { type ThreadItem, threadItems } from "../thread-items.ts";
import { base } from "../styles/tokens.ts";
import type { GroupAction } from "./thread-header.ts";
import "./group-dialog.ts";
import "./message-bubble.ts";
import "./message-composer.ts";
import "./send-notice.ts";
import "./system-line.ts";
import "./thread-header.ts";
import "./typing-indicator.ts";
import "./user-avatar.ts";

const NEAR = 48;

/**
 * One conversation: header, history (older pages load when scrolling up), live messages and
 * system lines, typing indicator, the send-limit notice and composer (which also writes
 * replies and edits). Follows the bottom (new messages end fully in view) unless the reader
 * scrolled up; then a "New messages" button appears. Marks messages read as they come into
 * view while the tab is visible. A reply's quote takes the view to the original, loading
 * older history until it is there.
 * @fires back - the user goes back to the list (phone layout, or Escape)
 */
@customElement("chat-thread")
export class ChatThread extends LitElement {
  private s = new StoreController(this);
  @property({ attribute: "conversation-id" }) conversationId: Id = "";
  @property({ type: Boolean, reflect: true }) narrow = false;
  @state() private newBelow = false;
  /** the seq of the message the composer answers */
  @state() private replyTo: number | null = null;
  /** the user's own message being edited */
  @state() private editing: { seq: number; body: string } | null = null;
  @state() private dialog: GroupAction | "" = "";
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
      .notice { margin: 0 var(--space-4); padding: 6px 12px; border-radius: var(--radius-s); font-size: 12.5px;
        background: var(--danger-bg); color: var(--text); }
      .highlight { animation: flash 1.6s ease-out; }
      @keyframes flash { from { background: var(--selected); } to { background: transparent; } }
      @media (prefers-reduced-motion: reduce) { .highlight { animation: none; outline: 2px solid var(--focus); } }
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
      this.replyTo = null;
      this.editing = null;
      this.dialog = "";
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
    // replies to messages this thread has not loaded: fetch what they quote
    const loaded = new Set(t.messages.map((m) => m.seq));
    for (const m of t.messages)
      if (m.replyTo !== null && !loaded.has(m.replyTo)) this.s.store.fetchQuote(this.conversationId, m.replyTo);
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
    for (const b of el.querySelectorAll<HTMLElement>("message-bubble[data-seq], system-line[data-seq]")) {
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

  /** A reply's quote was pressed: older pages until the original is there, then it is shown. */
  private async showQuoted(seq: number) {
    await this.s.store.loadUntil(this.conversationId, seq);
    await this.updateComplete;
    const el = this.renderRoot.querySelector<HTMLElement>(`[data-seq="${seq}"]`);
    if (!el) return;
    this.bottom.stuck = false;
    el.scrollIntoView({ block: "center" });
    el.classList.remove("highlight");
    void el.offsetWidth; // restart the flash when the same quote is pressed twice
    el.classList.add("highlight");
    el.querySelector<HTMLElement>("message-actions")?.focus();
  }

  /** What a message's own controls ask for; the message is the event's target (its seq on it). */
  private onMessageEvent(e: Event, item: ThreadItem) {
    const st = this.s.store;
    const id = this.conversationId;
    const seq = item.seq;
    if (seq === undefined) return;
    const detail = (e as CustomEvent).detail as { emoji: string; on: boolean } | { seq: number } | undefined;
    switch (e.type) {
      case "react":
        if (detail && "emoji" in detail) void st.react(id, seq, detail.emoji, detail.on);
        break;
      case "reply":
        this.editing = null;
        this.replyTo = seq;
        break;
      case "edit":
        this.replyTo = null;
        this.editing = { seq, body: item.body };
        break;
      case "delete":
        void st.remove(id, seq);
        break;
      case "quote":
        if (detail && "seq" in detail) void this.showQuoted(detail.seq);
        break;
    }
  }

  private renderItem(i: ThreadItem, names: Map<string, string>, ownSeq: number, peerRead: number, group: boolean) {
    const st = this.s.store;
    const c = this.conversationId;
    const me = st.me?.id ?? "";
    const day = i.newDay
      ? html`<div class="day" role="separator" aria-label=${dayLabel(i.createdAt)}><span>${dayLabel(i.createdAt)}</span></div>`
      : nothing;
    if (i.system)
      return html`${day}<system-line data-seq=${i.seq ?? nothing} .text=${systemText(me, i.system)} .time=${clock(i.createdAt)}></system-line>`;
    const on = (e: Event) => this.onMessageEvent(e, i);
    return html`${day}<message-bubble data-seq=${i.seq ?? nothing} data-client-id=${i.clientId} .body=${i.body} .time=${clock(i.createdAt)}
      .fullTime=${new Date(i.createdAt).toLocaleString()} ?own=${i.own} .status=${i.status} .wait=${i.wait} .error=${i.error ?? ""}
      .sender=${senderName(st, { senderId: i.senderId, conversationId: c })} ?show-sender=${i.showSender} ?continued=${i.continued}
      sender-id=${i.senderId} ?gutter=${group} ?deleted=${i.deleted} ?edited=${i.edited} ?mentioned=${i.mentions.includes(me)}
      .reactions=${i.reactions} me=${me} .names=${names} ?actionable=${i.status === "sent" && i.seq !== undefined}
      .quote=${i.replyTo === null ? null : quoteOf(st, st.thread(c), c, i.replyTo)}
      ?seen=${i.own && i.seq !== undefined && i.seq === ownSeq && peerRead >= i.seq}
      @retry=${() => st.retry(c, i.clientId)} @discard=${() => st.discard(c, i.clientId)}
      @react=${on} @reply=${on} @edit=${on} @delete=${on} @quote=${on}></message-bubble>`;
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
    const group = c.kind === "group";
    const sub = peer
      ? online
        ? "Online"
        : "Offline"
      : `${c.members.length} members: ${c.members.map((m) => (m.id === me ? "you" : m.username)).join(", ")}`;
    const peerRead = peerReadSeq(st, c);
    const items = threadItems(t, me, group, st.sendPause);
    const waiting = t.pending.filter((p) => p.status === "pending").length;
    const ownSeq = lastOwnSeq(st, t);
    const names = new Map(c.members.map((m) => [m.id, m.username]));
    const notice = st.notice?.conversationId === c.id ? st.notice.text : "";
    return html`<thread-header .name=${name} .sub=${sub} ?online=${online} ?group=${group} ?muted=${c.muted} ?narrow=${this.narrow}
        avatar-id=${peer?.id ?? c.id} .presence=${peer ? online : undefined} .connection=${st.connection}
        @mute=${(e: CustomEvent<{ muted: boolean }>) => void st.setMuted(c.id, e.detail.muted)}
        @group-action=${(e: CustomEvent<{ action: GroupAction }>) => (this.dialog = e.detail.action)}></thread-header>
      <section class="scroller" tabindex="0" aria-label="Messages" @scroll=${this.onScroll} @keydown=${this.onKey}><div class="log">
        ${t.loaded && !t.hasOlder && items.length ? html`<div class="top-note">This is the beginning of your conversation${peer ? ` with ${peer.username}` : ""}.</div>` : nothing}
        ${!t.loaded ? html`<div class="top-note">Loading messages…</div>` : nothing}
        ${
          t.loaded && !items.length
            ? html`<div class="empty"><user-avatar .name=${name} user-id=${peer?.id ?? c.id} ?group=${group} size="64"></user-avatar>
              <strong>Say hello to ${name}</strong>Messages you send appear here. Press Enter to send, Shift+Enter for a new line.</div>`
            : nothing
        }
        ${repeat(
          items,
          (i) => i.key,
          (i) => this.renderItem(i, names, ownSeq, peerRead, group),
        )}
      </div></section>
      ${this.newBelow ? html`<button class="new-below" @click=${this.jumpToNew}>New messages ↓</button>` : nothing}
      <typing-indicator .names=${st.live.typers(c)} aria-live="polite"></typing-indicator>
      ${notice ? html`<p class="notice" role="alert">${notice}</p>` : nothing}
      <send-notice .until=${st.sendPause?.reason === "rate" ? st.sendPause.until : 0} .waiting=${waiting}></send-notice>
      ${keyed(
        c.id,
        html`<message-composer placeholder="Message ${name}" .members=${c.members.filter((m) => m.id !== me)}
          .replying=${this.replyTo === null ? null : quoteOf(st, t, c.id, this.replyTo)} .editing=${this.editing}
          @send-message=${(e: CustomEvent<{ body: string }>) => {
            this.bottom.stuck = true;
            st.send(c.id, e.detail.body, this.replyTo ?? undefined);
            this.replyTo = null;
          }}
          @save-edit=${(e: CustomEvent<{ seq: number; body: string }>) => {
            void st.edit(c.id, e.detail.seq, e.detail.body);
            this.editing = null;
          }}
          @cancel-reply=${() => (this.replyTo = null)} @cancel-edit=${() => (this.editing = null)}
          @typing=${() => st.typingNow(c.id)} @keydown=${this.onKey}></message-composer>`,
      )}
      ${group ? html`<group-dialog .mode=${this.dialog} .conversation=${c} @dialog-closed=${() => (this.dialog = "")}></group-dialog>` : nothing}`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "chat-thread": ChatThread;
  }
}
