import { LitElement, css, html, nothing } from "lit";
import { customElement, property } from "lit/decorators.js";
import { base } from "../styles/tokens.ts";
import "./user-avatar.ts";

/**
 * One row of the conversation list.
 * @fires conversation-select - detail `{id}`: the user opens this conversation
 */
@customElement("conversation-item")
export class ConversationItem extends LitElement {
  /** focusing the row focuses its button, so the list can focus a row without reaching inside it */
  static override shadowRootOptions = { ...LitElement.shadowRootOptions, delegatesFocus: true };
  @property({ attribute: "conversation-id" }) conversationId = "";
  @property() name = "";
  /** id the avatar colour derives from: the peer in a direct chat, else the conversation */
  @property({ attribute: "avatar-id" }) avatarId = "";
  @property({ type: Boolean }) group = false;
  @property() preview = "";
  @property() time = "";
  @property({ type: Number }) unread = 0;
  /** unread messages that mention the user */
  @property({ type: Number }) mentions = 0;
  /** no notification, not bold; still counted */
  @property({ type: Boolean }) muted = false;
  @property({ type: Boolean }) online?: boolean;
  @property({ type: Boolean, reflect: true }) active = false;

  static override styles = [
    base,
    css`
      :host { display: block; }
      button {
        display: flex; gap: var(--space-3); align-items: center; width: 100%; text-align: left;
        padding: 10px var(--space-3); border: none; border-radius: var(--radius-m); background: transparent;
      }
      button:hover { background: var(--surface-hover); }
      :host([active]) button { background: var(--selected); }
      .main { flex: 1; min-width: 0; }
      .top, .bottom { display: flex; align-items: baseline; gap: var(--space-2); }
      .name { flex: 1; font-weight: 600; font-size: 14.5px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
      .time { font-size: 12px; color: var(--text-3); flex: none; }
      .kind {
        flex: none; font-size: 10.5px; font-weight: 650; text-transform: uppercase; letter-spacing: 0.05em;
        color: var(--text-2); border: 1px solid var(--border, currentColor); border-radius: 4px; padding: 0 4px;
      }
      .preview { flex: 1; font-size: 13px; color: var(--text-2); overflow: hidden; text-overflow: ellipsis; white-space: nowrap; margin-top: 2px; }
      .unread .name { color: var(--text); }
      .unread .preview { color: var(--text); font-weight: 500; }
      .badge {
        flex: none; min-width: 20px; height: 20px; padding: 0 6px; border-radius: 999px;
        background: var(--accent); color: var(--on-accent); font-size: 11.5px; font-weight: 700;
        display: inline-grid; place-items: center;
      }
      .badge.quiet { background: var(--surface-2); color: var(--text-2); }
      .badge.at { background: var(--mention-bg); color: var(--mention-text); }
      .muted-icon { flex: none; color: var(--text-3); display: inline-flex; }
    `,
  ];

  private select() {
    this.dispatchEvent(
      new CustomEvent("conversation-select", { detail: { id: this.conversationId }, bubbles: true, composed: true }),
    );
  }

  override render() {
    // the button is named by what it shows (name, "Group", presence, time, preview, unread), in that order
    const presence = this.online === undefined ? "" : this.online ? ", online" : ", offline";
    // a muted conversation still counts its unread messages, quietly
    const bold = this.unread > 0 && !this.muted;
    return html`<button class=${bold ? "unread" : ""} @click=${this.select} aria-current=${this.active ? "true" : "false"}>
      <user-avatar aria-hidden="true" .name=${this.name} user-id=${this.avatarId} .online=${this.online} ?group=${this.group} size="44"></user-avatar>
      <span class="main">
        <span class="top"><span class="name">${this.name}</span>${
          // said in words too: a group may carry any title, a person's name included
          this.group ? html`<span class="kind">Group</span>` : nothing
        }${presence ? html`<span class="sr-only">${presence}</span>` : nothing}<span class="time">${this.time}</span></span>
        <span class="bottom"><span class="preview">${this.preview || "No messages yet"}</span>
          ${
            this.muted
              ? html`<span class="muted-icon" title="Muted"><svg width="14" height="14" viewBox="0 0 24 24" aria-hidden="true" fill="currentColor"><path d="M20 18.7 5.3 4 4 5.3l3 3V11c0 2.4-1.2 4.4-3 5.3V17h11.7l3 3 1.3-1.3zM12 22a2 2 0 0 0 2-2h-4a2 2 0 0 0 2 2zm6-7.2V11c0-3.1-2.1-5.6-5-6.3V4a1 1 0 0 0-2 0v.7c-.6.1-1.1.4-1.6.7L18 14.8z"/></svg><span class="sr-only">, muted</span></span>`
              : nothing
          }
          ${this.mentions ? html`<span class="badge at">@${this.mentions > 1 ? this.mentions : ""}<span class="sr-only"> ${this.mentions} ${this.mentions === 1 ? "mention" : "mentions"}</span></span>` : nothing}
          ${this.unread ? html`<span class="badge ${this.muted ? "quiet" : ""}">${this.unread > 99 ? "99+" : this.unread}<span class="sr-only"> unread</span></span>` : nothing}</span>
      </span>
    </button>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "conversation-item": ConversationItem;
  }
}
