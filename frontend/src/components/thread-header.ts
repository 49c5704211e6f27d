import { LitElement, css, html, nothing, svg } from "lit";
import { customElement, property, state } from "lit/decorators.js";
import type { ConnectionStatus } from "../state/socket-client.ts";
import { base } from "../styles/tokens.ts";
import "./connection-status.ts";
import "./user-avatar.ts";

/** What the header's group menu offers. */
export type GroupAction = "rename" | "add" | "leave";

/**
 * The top of a conversation: who it is with (or the group and its members), presence, mute, and
 * for a group a menu to rename it, add people or leave.
 * @fires back - the user goes back to the list (phone layout)
 * @fires mute - detail `{muted}`: the user mutes or unmutes the conversation
 * @fires group-action - detail `{action}`: the user picked rename, add or leave
 */
@customElement("thread-header")
export class ThreadHeader extends LitElement {
  @property() name = "";
  @property() sub = "";
  @property({ type: Boolean }) online = false;
  @property({ type: Boolean }) group = false;
  @property({ type: Boolean }) muted = false;
  @property({ type: Boolean, reflect: true }) narrow = false;
  @property({ attribute: "avatar-id" }) avatarId = "";
  /** the peer's presence for the avatar; undefined in a group */
  @property({ attribute: false }) presence: boolean | undefined = undefined;
  @property() connection: ConnectionStatus = "offline";
  @state() private menu = false;

  static override styles = [
    base,
    css`
      :host { display: block; position: relative; }
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
      /* on a phone the name needs the room more than the avatar does */
      :host([narrow]) user-avatar { display: none; }
      .icon-btn[aria-pressed="true"] { color: var(--accent); }
      ul { position: absolute; right: var(--space-4); top: 56px; z-index: 4; list-style: none; margin: 0; padding: 4px;
        background: var(--surface); border: 1px solid var(--border); border-radius: var(--radius-m); box-shadow: var(--shadow-2); }
      li button { display: block; width: 100%; text-align: left; border: none; background: none; padding: 8px 14px;
        border-radius: var(--radius-s); font-size: 14px; }
      li button:hover { background: var(--surface-hover); }
      .danger { color: var(--danger); }
    `,
  ];

  private fire(type: string, detail?: unknown) {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }

  private onMenuKey = (e: KeyboardEvent) => {
    if (e.key === "Escape") this.menu = false;
  };

  private act(action: GroupAction) {
    this.menu = false;
    this.fire("group-action", { action });
  }

  override render() {
    const bell = this.muted
      ? svg`<path d="M20 18.7 5.3 4 4 5.3l3 3V11c0 2.4-1.2 4.4-3 5.3V17h11.7l3 3 1.3-1.3zM12 22a2 2 0 0 0 2-2h-4a2 2 0 0 0 2 2zm6-7.2V11c0-3.1-2.1-5.6-5-6.3V4a1 1 0 0 0-2 0v.7c-.6.1-1.1.4-1.6.7L18 14.8z"/>`
      : svg`<path d="M12 22a2 2 0 0 0 2-2h-4a2 2 0 0 0 2 2zm6-6V11c0-3.1-2.1-5.6-5-6.3V4a1 1 0 0 0-2 0v.7C8.1 5.4 6 7.9 6 11v5l-2 2v1h16v-1l-2-2z"/>`;
    return html`<header>
        <button class="icon-btn back" aria-label="Back to conversations" @click=${() => this.fire("back")}>
          <svg width="20" height="20" viewBox="0 0 24 24" aria-hidden="true" fill="currentColor"><path d="M15.4 7.4 14 6l-6 6 6 6 1.4-1.4L10.8 12z"/></svg></button>
        <user-avatar .name=${this.name} user-id=${this.avatarId} ?group=${this.group} .online=${this.presence} size="40"></user-avatar>
        <div class="title"><h2>${this.name}</h2><div class="sub ${this.online ? "on" : ""}">${this.sub}</div></div>
        ${this.narrow ? html`<connection-status .status=${this.connection}></connection-status>` : nothing}
        <button class="icon-btn" aria-pressed=${this.muted ? "true" : "false"} aria-label="Mute this conversation"
          title=${this.muted ? "Muted: no notifications" : "Mute"} @click=${() => this.fire("mute", { muted: !this.muted })}>
          <svg width="20" height="20" viewBox="0 0 24 24" aria-hidden="true" fill="currentColor">${bell}</svg></button>
        ${
          this.group
            ? html`<button class="icon-btn" aria-label="Group options" aria-haspopup="true" aria-expanded=${this.menu ? "true" : "false"}
                @click=${() => (this.menu = !this.menu)}>
                <svg width="20" height="20" viewBox="0 0 24 24" aria-hidden="true" fill="currentColor"><path d="M12 8a2 2 0 1 0 0-4 2 2 0 0 0 0 4zm0 2a2 2 0 1 0 0 4 2 2 0 0 0 0-4zm0 6a2 2 0 1 0 0 4 2 2 0 0 0 0-4z"/></svg></button>`
            : nothing
        }
      </header>
      ${
        this.menu
          ? html`<ul aria-label="Group options" @keydown=${this.onMenuKey}>
            <li><button @click=${() => this.act("rename")}>Rename group</button></li>
            <li><button @click=${() => this.act("add")}>Add people</button></li>
            <li><button class="danger" @click=${() => this.act("leave")}>Leave group</button></li></ul>`
          : nothing
      }`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "thread-header": ThreadHeader;
  }
}
