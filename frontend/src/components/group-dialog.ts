import { LitElement, css, html, nothing, type PropertyValues } from "lit";
import { customElement, property, query, state } from "lit/decorators.js";
import type { Conversation, UserSummary } from "@parley/contract";
import { TITLE_MAX, USERNAME_MAX } from "@parley/contract/limits";
import { errorText } from "../state/explain.ts";
import { StoreController } from "../state/store-controller.ts";
import { base } from "../styles/tokens.ts";
import type { GroupAction } from "./thread-header.ts";

/**
 * Changing a group: its name, who is in it (people are added by the beginning of their
 * username), or leaving it (asked once more). A modal <dialog>: focus stays inside, Escape
 * closes.
 * @fires dialog-closed - the dialog was dismissed or its change was made
 */
@customElement("group-dialog")
export class GroupDialog extends LitElement {
  private s = new StoreController(this);
  /** what the dialog does; "" while closed */
  @property() mode: GroupAction | "" = "";
  @property({ attribute: false }) conversation: Conversation | undefined;
  @state() private groupName = "";
  @state() private query = "";
  @state() private results: UserSummary[] = [];
  @state() private picked: UserSummary[] = [];
  @state() private error = "";
  @state() private busy = false;
  @query("dialog") private dialogEl!: HTMLDialogElement;
  private searchSeq = 0;

  static override styles = [
    base,
    css`
      dialog {
        width: min(420px, calc(100vw - 24px)); padding: 0; border: 1px solid var(--border); border-radius: var(--radius-l);
        background: var(--surface); color: var(--text); box-shadow: var(--shadow-2);
      }
      dialog::backdrop { background: rgb(10 12 20 / 0.45); }
      form { display: flex; flex-direction: column; gap: var(--space-3); padding: var(--space-5); }
      h2 { margin: 0; font-size: 18px; }
      p { margin: 0; color: var(--text-2); line-height: 1.45; }
      label { font-size: 13px; font-weight: 600; color: var(--text-2); display: block; margin-bottom: 6px; }
      input {
        width: 100%; font: inherit; font-size: 14.5px; padding: 10px 12px; border-radius: var(--radius-s);
        border: 1px solid var(--border); background: var(--surface-2); color: var(--text);
      }
      ul { list-style: none; margin: 0; padding: 0; max-height: 220px; overflow-y: auto; }
      li button { display: flex; width: 100%; gap: 8px; padding: 8px; border: none; background: none; border-radius: var(--radius-s);
        text-align: left; font-size: 14.5px; }
      li button:hover { background: var(--surface-hover); }
      li button[aria-pressed="true"] { background: var(--selected); }
      .error { color: var(--danger); font-size: 13px; }
      .actions { display: flex; justify-content: flex-end; gap: var(--space-2); }
      .btn.danger { background: var(--danger); color: var(--surface); }
    `,
  ];

  protected override updated(changed: PropertyValues<this>) {
    if (!changed.has("mode")) return;
    if (this.mode && !this.dialogEl.open) {
      Object.assign(this, { groupName: this.conversation?.title ?? "", query: "", results: [], picked: [], error: "" });
      this.dialogEl.showModal();
      if (this.mode === "add") void this.search("");
    } else if (!this.mode && this.dialogEl.open) this.dialogEl.close();
  }

  private async search(q: string) {
    const mine = ++this.searchSeq;
    try {
      const found = await this.s.store.searchUsers(q, 20);
      const members = new Set(this.conversation?.members.map((m) => m.id));
      if (mine === this.searchSeq) this.results = found.filter((u) => !members.has(u.id));
    } catch (e) {
      if (mine === this.searchSeq) this.error = errorText(e, "Search failed.");
    }
  }

  private toggle(u: UserSummary) {
    this.picked = this.picked.some((p) => p.id === u.id)
      ? this.picked.filter((p) => p.id !== u.id)
      : [...this.picked, u];
  }

  private async submit(e: Event) {
    e.preventDefault();
    const c = this.conversation;
    if (!c || this.busy) return;
    this.busy = true;
    const st = this.s.store;
    const done =
      this.mode === "rename"
        ? await st.rename(c.id, this.groupName)
        : this.mode === "add"
          ? await st.addMembers(
              c.id,
              this.picked.map((p) => p.id),
            )
          : await st.leave(c.id);
    this.busy = false;
    if (done) this.dialogEl.close();
    else this.error = st.notice?.text ?? "That did not work.";
  }

  private body() {
    switch (this.mode) {
      case "rename":
        return html`<h2 id="gd-title">Rename group</h2>
          <div><label for="title">Group name</label>
          <input id="title" maxlength=${TITLE_MAX} .value=${this.groupName} placeholder="Leave empty to remove the name"
            @input=${(e: Event) => (this.groupName = (e.target as HTMLInputElement).value)} /></div>`;
      case "add":
        return html`<h2 id="gd-title">Add people</h2>
          <div><label for="who">Find people by username</label>
          <input id="who" type="search" autocomplete="off" maxlength=${USERNAME_MAX} .value=${this.query}
            @input=${(e: Event) => {
              this.query = (e.target as HTMLInputElement).value;
              void this.search(this.query.trim());
            }} /></div>
          <ul aria-label="People to add">${this.results.map(
            (
              u,
            ) => html`<li><button type="button" aria-pressed=${this.picked.some((p) => p.id === u.id) ? "true" : "false"}
              @click=${() => this.toggle(u)}>${u.username}</button></li>`,
          )}</ul>`;
      case "leave":
        return html`<h2 id="gd-title">Leave group?</h2>
          <p>You will no longer get its messages, and you cannot come back unless someone adds you.</p>`;
      default:
        return nothing;
    }
  }

  override render() {
    const submit = this.mode === "rename" ? "Save" : this.mode === "add" ? "Add" : "Leave group";
    const disabled = this.busy || (this.mode === "add" && this.picked.length === 0);
    return html`<dialog aria-labelledby="gd-title" @close=${() => this.dispatchEvent(new CustomEvent("dialog-closed", { bubbles: true, composed: true }))}>
      <form @submit=${this.submit}>
        ${this.body()}
        ${this.error ? html`<div class="error" role="alert">${this.error}</div>` : nothing}
        <div class="actions">
          <button type="button" class="btn ghost" @click=${() => this.dialogEl.close()}>Cancel</button>
          <button type="submit" class="btn ${this.mode === "leave" ? "danger" : ""}" ?disabled=${disabled}>${submit}</button>
        </div>
      </form></dialog>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "group-dialog": GroupDialog;
  }
}
