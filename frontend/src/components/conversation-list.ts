import { LitElement, css, html, nothing } from "lit";
import { customElement, property } from "lit/decorators.js";
import { repeat } from "lit/directives/repeat.js";
import { nameOf, peerOf, peerOnline, previewOf } from "../state/selectors.ts";
import { StoreController } from "../state/store-controller.ts";
import { listTime } from "../format.ts";
import { base } from "../styles/tokens.ts";
import "./conversation-item.ts";
import "./connection-status.ts";
import "./user-avatar.ts";

/**
 * The sidebar: who I am and the connection (the page's banner), and every conversation, newest
 * activity first (its navigation; the page's main content when it is the whole screen, as on
 * a phone before a conversation is opened).
 * @fires new-chat - the user wants to start a conversation
 * @fires sign-out - the user signs out
 * @fires sign-out-everywhere - the user signs out on every device
 */
@customElement("conversation-list")
export class ConversationList extends LitElement {
  private s = new StoreController(this);
  @property({ attribute: "active-id" }) activeId = "";
  /** the list is the page's main content (phone layout), not navigation beside it */
  @property({ type: Boolean }) primary = false;

  static override styles = [
    base,
    css`
      :host { display: flex; flex-direction: column; min-height: 0; background: var(--surface); }
      .top { display: flex; align-items: center; gap: var(--space-3); padding: var(--space-4) var(--space-4) var(--space-3); }
      nav, main { display: flex; flex-direction: column; flex: 1; min-height: 0; }
      .brand { display: flex; align-items: center; gap: var(--space-2); font-weight: 750; font-size: 19px; letter-spacing: -0.01em; flex: 1; margin: 0; }
      .brand svg { color: var(--accent); }
      .me { display: flex; align-items: center; gap: var(--space-2); padding: 0 var(--space-4) var(--space-3); font-size: 13px; color: var(--text-2); }
      .me strong { color: var(--text); font-weight: 600; }
      .me .spacer { flex: 1; }
      .new { margin: 0 var(--space-4) var(--space-3); display: flex; flex-direction: column; gap: var(--space-2); }
      .new .btn { width: 100%; }
      h2 { font-size: 11.5px; text-transform: uppercase; letter-spacing: 0.06em; color: var(--text-3); margin: var(--space-2) var(--space-5) var(--space-2); font-weight: 650; }
      ul { list-style: none; margin: 0; padding: 0 var(--space-2) var(--space-3); overflow-y: auto; flex: 1; }
      li + li { margin-top: 2px; }
      .empty { padding: var(--space-6) var(--space-5); text-align: center; color: var(--text-2); font-size: 14px; line-height: 1.5; }
      .empty strong { display: block; color: var(--text); font-size: 15px; margin-bottom: var(--space-1); }
      .more { display: flex; justify-content: center; padding: var(--space-2) 0 var(--space-3); }
      .everywhere { display: flex; justify-content: flex-end; padding: 0 var(--space-4) var(--space-3); margin-top: calc(-1 * var(--space-2)); }
      .link { border: none; background: none; color: var(--text-2); font-size: 12px; text-decoration: underline; padding: 2px 0; cursor: pointer; }
    `,
  ];

  /** Focuses the open conversation's row, else the first one. */
  override focus() {
    this.renderRoot.querySelector<HTMLElement>("conversation-item[active], conversation-item")?.focus();
  }

  private fire(type: string) {
    this.dispatchEvent(new CustomEvent(type, { bubbles: true, composed: true }));
  }

  override render() {
    const st = this.s.store;
    const me = st.me;
    const list = html`<div class="new"><button class="btn" @click=${() => this.fire("new-chat")}>
        <svg width="16" height="16" viewBox="0 0 24 24" aria-hidden="true" fill="currentColor"><path d="M11 5h2v6h6v2h-6v6h-2v-6H5v-2h6z"/></svg>New chat</button>
        ${
          // asked only on this click, never on load
          st.notifications === "default"
            ? html`<button class="btn ghost" @click=${() => void st.enableNotifications()}>Turn on notifications</button>`
            : nothing
        }</div>
      <h2 id="convs-h">Conversations</h2>
      ${
        st.conversations.length === 0
          ? html`<div class="empty">${
              st.conversationsLoaded
                ? html`<strong>No conversations yet</strong>Start one with “New chat” and find people by their username.`
                : "Loading conversations…"
            }</div>`
          : html`<ul aria-labelledby="convs-h">
            ${repeat(
              st.conversations,
              (c) => c.id,
              (c) => {
                const peer = peerOf(st, c);
                return html`<li><conversation-item conversation-id=${c.id} .name=${nameOf(st, c)} avatar-id=${peer?.id ?? c.id}
                ?group=${c.kind === "group"} .preview=${previewOf(st, c)} .time=${listTime(c.lastMessage?.createdAt ?? c.createdAt)}
                .unread=${c.id === this.activeId ? 0 : c.unread} .mentions=${c.id === this.activeId ? 0 : c.mentions}
                ?muted=${c.muted} .online=${peerOnline(st, c)}
                ?active=${c.id === this.activeId}></conversation-item></li>`;
              },
            )}
          </ul>${
            st.conversationsCursor
              ? html`<div class="more"><button class="btn ghost" @click=${() => void st.loadMoreConversations()}>Show more conversations</button></div>`
              : ""
          }`
      }`;
    return html`<header>
        <div class="top">
          <h1 class="brand"><svg width="24" height="24" viewBox="0 0 24 24" aria-hidden="true" fill="currentColor"><path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"/></svg>Parley</h1>
          <connection-status .status=${st.connection}></connection-status>
        </div>
        <div class="me">
          <user-avatar .name=${me?.username ?? ""} user-id=${me?.id ?? ""} size="28"></user-avatar>
          <span>Signed in as <strong>${me?.username}</strong></span><span class="spacer"></span>
          <button class="btn ghost" style="padding:5px 10px;font-size:12.5px" @click=${() => this.fire("sign-out")}>Sign out</button>
        </div>
        <div class="everywhere"><button class="link" @click=${() => this.fire("sign-out-everywhere")}>Sign out on every device</button></div>
      </header>
      ${
        this.primary
          ? html`<main aria-labelledby="convs-h">${list}</main>`
          : html`<nav aria-labelledby="convs-h">${list}</nav>`
      }`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "conversation-list": ConversationList;
  }
}
