import { LitElement, css, html, nothing } from "lit";
import { customElement, property, query, state } from "lit/decorators.js";
import type { UserSummary } from "@parley/contract";
import { TITLE_MAX, USERNAME_MAX } from "@parley/contract/limits";
import { errorText } from "../state/explain.ts";
import { StoreController } from "../state/store-controller.ts";
import { base } from "../styles/tokens.ts";
import "./user-avatar.ts";

/**
 * Start a conversation: find people by the beginning of their username, pick one for a direct
 * chat or several plus a title for a group. A modal <dialog>: focus stays inside, Escape closes.
 * @fires conversation-created - detail `{id}`: the conversation to open
 * @fires dialog-closed - the dialog was dismissed
 */
@customElement("new-chat-dialog")
export class NewChatDialog extends LitElement {
  private s = new StoreController(this);
  @property({ type: Boolean }) open = false;
  @state() private query = "";
  @state() private results: UserSummary[] = [];
  @state() private picked: UserSummary[] = [];
  @state() private groupTitle = "";
  @state() private error = "";
  @state() private busy = false;
  @state() private searching = false;
  @query("dialog") private dialogEl!: HTMLDialogElement;
  @query("#search") private searchEl!: HTMLInputElement;
  private searchSeq = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  static override styles = [
    base,
    css`
      dialog {
        width: min(460px, calc(100vw - 24px)); max-height: min(640px, calc(100vh - 48px)); padding: 0;
        border: 1px solid var(--border); border-radius: var(--radius-l); background: var(--surface); color: var(--text);
        box-shadow: var(--shadow-2);
      }
      dialog::backdrop { background: rgb(10 12 20 / 0.45); }
      .wrap { display: flex; flex-direction: column; gap: var(--space-3); padding: var(--space-5); }
      .head { display: flex; align-items: center; }
      h2 { flex: 1; margin: 0; font-size: 18px; }
      label { font-size: 13px; font-weight: 600; color: var(--text-2); display: block; margin-bottom: 6px; }
      input {
        width: 100%; font: inherit; font-size: 14.5px; padding: 10px 12px; border-radius: var(--radius-s);
        border: 1px solid var(--border); background: var(--surface-2); color: var(--text);
      }
      input:focus-visible { outline: 2px solid var(--focus); outline-offset: 0; border-color: transparent; }
      .chips { display: flex; flex-wrap: wrap; gap: 6px; }
      .chip {
        display: inline-flex; align-items: center; gap: 6px; padding: 3px 4px 3px 10px; border-radius: 999px;
        background: var(--selected); font-size: 13px; border: none;
      }
      .chip span { font-size: 15px; line-height: 1; padding: 0 4px; }
      ul { list-style: none; margin: 0; padding: 0; overflow-y: auto; max-height: 280px; }
      li button {
        display: flex; align-items: center; gap: var(--space-3); width: 100%; padding: 8px; border: none;
        background: none; border-radius: var(--radius-s); text-align: left; font-size: 14.5px;
      }
      li button:hover { background: var(--surface-hover); }
      li button[aria-pressed="true"] { background: var(--selected); }
      .who { flex: 1; }
      .state { font-size: 12px; color: var(--text-3); }
      .check { color: var(--accent); font-weight: 700; }
      .hint { font-size: 13px; color: var(--text-2); padding: var(--space-2) 0; }
      .error { color: var(--danger); font-size: 13px; }
      .actions { display: flex; justify-content: flex-end; gap: var(--space-2); }
    `,
  ];

  override updated(changed: Map<string, unknown>) {
    if (!changed.has("open")) return;
    if (this.open && !this.dialogEl.open) {
      this.reset();
      this.dialogEl.showModal();
      this.searchEl.focus();
      this.runSearch("");
    } else if (!this.open && this.dialogEl.open) this.dialogEl.close();
  }

  private reset() {
    Object.assign(this, { query: "", results: [], picked: [], groupTitle: "", error: "", busy: false });
  }

  private onQuery(e: Event) {
    this.query = (e.target as HTMLInputElement).value;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.runSearch(this.query.trim()), 150);
  }

  private async runSearch(q: string) {
    const mine = ++this.searchSeq;
    this.searching = true;
    try {
      const users = await this.s.store.searchUsers(q, 20);
      if (mine !== this.searchSeq) return;
      this.results = users;
      this.error = "";
    } catch (e) {
      if (mine === this.searchSeq) this.error = errorText(e, "Search failed.");
    } finally {
      if (mine === this.searchSeq) this.searching = false;
    }
  }

  private toggle(u: UserSummary) {
    this.picked = this.picked.some((p) => p.id === u.id)
      ? this.picked.filter((p) => p.id !== u.id)
      : [...this.picked, u];
  }

  private async create(e: Event) {
    e.preventDefault();
    if (!this.picked.length || this.busy) return;
    this.busy = true;
    this.error = "";
    try {
      const title = this.picked.length > 1 ? this.groupTitle.trim() : "";
      const c = await this.s.store.createConversation(
        this.picked.map((p) => p.id),
        title || undefined,
      );
      this.dispatchEvent(
        new CustomEvent("conversation-created", { detail: { id: c.id }, bubbles: true, composed: true }),
      );
      this.dialogEl.close();
    } catch (err) {
      this.error = errorText(err, "Could not start the conversation.");
    } finally {
      this.busy = false;
    }
  }

  private onClose() {
    this.dispatchEvent(new CustomEvent("dialog-closed", { bubbles: true, composed: true }));
  }

  override render() {
    const group = this.picked.length > 1;
    return html`<dialog aria-labelledby="nc-title" @close=${this.onClose}>
      <form class="wrap" @submit=${this.create}>
        <div class="head"><h2 id="nc-title">New chat</h2>
          <button type="button" class="icon-btn" aria-label="Close" @click=${() => this.dialogEl.close()}>✕</button></div>
        <div>
          <label for="search">Find people by username</label>
          <input id="search" type="search" autocomplete="off" maxlength=${USERNAME_MAX} placeholder="Start typing a name…"
            .value=${this.query} @input=${this.onQuery} aria-controls="results" />
        </div>
        ${
          this.picked.length
            ? html`<div class="chips" aria-label="Selected people">${this.picked.map(
                (p) =>
                  html`<button type="button" class="chip" @click=${() => this.toggle(p)} aria-label="Remove ${p.username}">${p.username}<span aria-hidden="true">×</span></button>`,
              )}</div>`
            : nothing
        }
        <ul id="results" aria-label="People" aria-busy=${this.searching ? "true" : "false"}>
          ${this.results.map((u) => {
            const on = this.picked.some((p) => p.id === u.id);
            return html`<li><button type="button" aria-pressed=${on ? "true" : "false"} @click=${() => this.toggle(u)}
              aria-label="${u.username}${u.online === undefined ? "" : u.online ? ", online" : ", offline"}">
              <user-avatar .name=${u.username} user-id=${u.id} .online=${u.online} size="34"></user-avatar>
              <span class="who">${u.username}${
                // presence is shown only for people one already shares a conversation with
                u.online === undefined ? nothing : html`<div class="state">${u.online ? "Online" : "Offline"}</div>`
              }</span>
              ${on ? html`<span class="check" aria-hidden="true">✓</span>` : nothing}</button></li>`;
          })}
        </ul>
        ${
          !this.searching && this.results.length === 0
            ? html`<div class="hint">${this.query ? `Nobody’s username starts with “${this.query}”.` : "Type a name to find someone. People you already chat with are listed here."}</div>`
            : nothing
        }
        ${
          group
            ? html`<div><label for="title">Group name (optional)</label>
              <input id="title" maxlength=${TITLE_MAX} placeholder="e.g. Weekend plans" .value=${this.groupTitle}
                @input=${(e: Event) => (this.groupTitle = (e.target as HTMLInputElement).value)} /></div>`
            : nothing
        }
        ${this.error ? html`<div class="error" role="alert">${this.error}</div>` : nothing}
        <div class="actions">
          <button type="button" class="btn ghost" @click=${() => this.dialogEl.close()}>Cancel</button>
          <button type="submit" class="btn" ?disabled=${!this.picked.length || this.busy}>${group ? "Create group" : "Start chat"}</button>
        </div>
      </form>
    </dialog>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "new-chat-dialog": NewChatDialog;
  }
}
