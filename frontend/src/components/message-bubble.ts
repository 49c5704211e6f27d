import { LitElement, css, html, nothing } from "lit";
import { customElement, property } from "lit/decorators.js";
import type { Reaction } from "@parley/contract";
import { mentionParts } from "../mention-parts.ts";
import type { Quote } from "../state/selectors.ts";
import { base } from "../styles/tokens.ts";
import { colourOf, hueOf } from "./user-avatar.ts";
import "./message-actions.ts";
import "./reaction-bar.ts";
import "./reply-quote.ts";
import "./user-avatar.ts";

export type BubbleStatus = "sent" | "pending" | "failed";
/** Why an unsent message waits: the send limit, no connection, a failed one before it; "" while sending. */
export type BubbleWait = "" | "rate" | "connection" | "held";

const WAITING: Record<BubbleWait, string> = {
  "": "Sending…",
  rate: "Waiting to send",
  connection: "Waiting for connection",
  held: "Waiting for the message above",
};

/**
 * One message, as an article whose spoken text starts with who wrote it and when ("You, 10:42:"
 * or "bob, 10:42:"), so a screen reader tells one's own messages from the other person's. The
 * body is text bindings, never HTML (@mentions of members are marked, the reader's own
 * strongly). Above it the message it answers; under it its reactions; beside it, on hover or
 * focus, what can be done with it (message-actions). A deleted message leaves its line.
 * @fires retry - the user asks to send a failed message again
 * @fires discard - the user gives up on a failed message
 */
@customElement("message-bubble")
export class MessageBubble extends LitElement {
  @property() body = "";
  @property() time = "";
  @property({ attribute: "full-time" }) fullTime = "";
  @property({ type: Boolean, reflect: true }) own = false;
  @property({ reflect: true }) status: BubbleStatus = "sent";
  @property({ reflect: true }) wait: BubbleWait = "";
  /** who wrote it (spoken always; shown above the first bubble of a run in a group) */
  @property() sender = "";
  @property({ type: Boolean, attribute: "show-sender" }) showSender = false;
  @property() error = "";
  @property({ type: Boolean }) seen = false;
  /** in a group, others' messages sit beside their avatar (shown on the first of a run) */
  @property({ attribute: "sender-id" }) senderId = "";
  @property({ type: Boolean, reflect: true }) gutter = false;
  /** continues a run of the same sender: tighter spacing */
  @property({ type: Boolean, reflect: true }) continued = false;
  @property({ type: Boolean, reflect: true }) deleted = false;
  @property({ type: Boolean }) edited = false;
  /** it names the reader with @ */
  @property({ type: Boolean, reflect: true }) mentioned = false;
  @property({ attribute: false }) reactions: Reaction[] = [];
  @property({ attribute: false }) quote: Quote | null = null;
  /** the reader's id and name, and every member's name by id (reactions, mentions) */
  @property() me = "";
  @property({ attribute: false }) names = new Map<string, string>();
  /** reactions, replies (and for one's own, edits and deletes) are offered */
  @property({ type: Boolean }) actionable = false;

  static override styles = [
    base,
    css`
      :host { display: flex; flex-direction: column; align-items: flex-start; padding: 0 var(--space-5); margin-top: 10px; }
      :host([continued]) { margin-top: 2px; }
      :host([own]) { align-items: flex-end; }
      .sender { font-size: 12px; font-weight: 650; margin: 0 0 3px 12px; color: var(--name-light); }
      /* on the dark page a name needs to be light (4.5:1 on every palette hue) */
      @media (prefers-color-scheme: dark) { .sender { color: hsl(var(--name-hue) 60% 70%); } }
      .row { display: flex; align-items: flex-start; gap: 8px; max-width: 100%; }
      :host([own]) .row { justify-content: flex-end; }
      .col { display: flex; flex-direction: column; align-items: flex-start; min-width: 0; }
      :host([own]) .col { align-items: flex-end; }
      .gutter { width: 30px; flex: none; }
      .gutter user-avatar { margin-top: 18px; }
      .bubble {
        max-width: min(72ch, 100%); padding: 8px 12px 6px; border-radius: var(--radius-l);
        background: var(--bubble-other); color: var(--bubble-other-text); box-shadow: var(--shadow-1);
        white-space: pre-wrap; overflow-wrap: anywhere; line-height: 1.4; font-size: 14.5px;
        border-bottom-left-radius: 6px;
      }
      :host([own]) .bubble {
        background: var(--bubble-own); color: var(--bubble-own-text);
        border-bottom-left-radius: var(--radius-l); border-bottom-right-radius: 6px;
      }
      :host([status="pending"]) .bubble { opacity: 0.7; }
      :host([deleted]) .bubble { background: transparent; color: var(--text-2); box-shadow: none; border: 1px dashed var(--border); font-style: italic; }
      :host([mentioned]) .bubble { box-shadow: inset 3px 0 0 var(--mention-edge), var(--shadow-1); }
      .mention { font-weight: 700; }
      .mention.me { background: var(--mention-bg); color: var(--mention-text); border-radius: 4px; padding: 0 2px; }
      .col { position: relative; }
      message-actions { position: absolute; top: -16px; right: 0; z-index: 1; opacity: 0; pointer-events: none; }
      :host([own]) message-actions { right: auto; left: 0; }
      :host(:hover) message-actions, :host(:focus-within) message-actions { opacity: 1; pointer-events: auto; }
      @media (hover: none) { message-actions { position: static; opacity: 1; pointer-events: auto; margin-top: 4px; } }
      :host([status="failed"]) .bubble { background: var(--danger-bg); color: var(--text); outline: 1px solid var(--danger); }
      .meta { display: flex; gap: 6px; align-items: center; font-size: 11px; color: var(--text-3); margin: 3px 6px 0; }
      .failed { color: var(--danger); font-weight: 600; }
      .retry {
        border: none; background: none; color: var(--accent); font-weight: 600; font-size: 12px;
        padding: 2px 4px; border-radius: 4px; text-decoration: underline;
      }
    `,
  ];

  private fire(type: "retry" | "discard") {
    this.dispatchEvent(new CustomEvent(type, { bubbles: true, composed: true }));
  }

  override render() {
    const state =
      this.status === "pending"
        ? html`<span data-state="pending">${WAITING[this.wait]}</span>`
        : this.status === "failed"
          ? html`<span class="failed" role="alert">Not sent${this.error ? `: ${this.error}` : ""}</span>
              <button class="retry" @click=${() => this.fire("retry")}>Retry</button>
              <button class="retry" @click=${() => this.fire("discard")}>Discard</button>`
          : this.own && this.seen
            ? html`<span>Seen</span>`
            : nothing;
    const showSender = this.showSender && !this.own;
    const who = this.own ? "You" : this.sender || "Someone";
    const about = `${this.own ? "your" : `${who}’s`} message, ${this.time}`;
    const body = this.deleted
      ? "Message deleted"
      : mentionParts(this.body, [...this.names.values()], this.names.get(this.me)).map((p) =>
          p.mention ? html`<span class="mention ${p.mention.me ? "me" : ""}">${p.text}</span>` : p.text,
        );
    // the visible name and time are for the eye; the hidden line says both first, for the ear
    const col = html`<div class="col">
      ${showSender ? html`<div class="sender" aria-hidden="true" style="--name-light:${colourOf(this.senderId)};--name-hue:${hueOf(this.senderId)}">${this.sender}</div>` : nothing}
      <span class="sr-only">${who}, ${this.time}${this.mentioned ? ", mentions you" : ""}:</span>
      ${this.quote && !this.deleted ? html`<reply-quote .quote=${this.quote}></reply-quote>` : nothing}
      <div class="bubble">${body}</div>
      ${this.deleted ? nothing : html`<reaction-bar .reactions=${this.reactions} me=${this.me} .names=${this.names}></reaction-bar>`}
      <div class="meta"><time title=${this.fullTime} aria-hidden="true">${this.time}</time>${this.edited && !this.deleted ? html`<span>Edited</span>` : nothing}${state}</div>
      ${this.actionable && !this.deleted ? html`<message-actions ?own=${this.own} about=${about}></message-actions>` : nothing}</div>`;
    return html`<article class="row" style="max-width:${this.own ? "min(720px, 80%)" : "min(760px, 86%)"}">
      ${
        this.gutter && !this.own
          ? html`<div class="gutter">${showSender ? html`<user-avatar .name=${this.sender} user-id=${this.senderId} size="30"></user-avatar>` : nothing}</div>`
          : nothing
      }${col}</article>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "message-bubble": MessageBubble;
  }
}
