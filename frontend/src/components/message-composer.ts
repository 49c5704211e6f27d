import { LitElement, css, html, nothing, type PropertyValues } from "lit";
import { customElement, property, query, state } from "lit/decorators.js";
import type { Member } from "@parley/contract";
import { MESSAGE_BODY_MAX } from "@parley/contract/limits";
import { typedMention } from "../mention-parts.ts";
import type { Quote } from "../state/selectors.ts";
import { base } from "../styles/tokens.ts";

/** Characters as the api counts them: code points (an emoji is one). */
const chars = (s: string) => [...s].length;
const SUGGESTIONS_MAX = 6;

/**
 * Where messages are written. Enter sends, Shift+Enter breaks the line. Typing `@` suggests
 * the conversation's members (arrows choose, Enter or Tab takes one, Escape closes). It also
 * writes a reply (the quoted message above it) and edits one's own message (Enter saves,
 * Escape cancels).
 * @fires send-message - detail `{body}`: the user sent a message
 * @fires save-edit - detail `{seq, body}`: the user saved an edit
 * @fires cancel-reply - the user no longer answers the quoted message
 * @fires cancel-edit - the user gave up editing
 * @fires typing - the user is typing (the store throttles what goes on the wire)
 */
@customElement("message-composer")
export class MessageComposer extends LitElement {
  @property() placeholder = "Write a message";
  /** the other members, for @ suggestions */
  @property({ attribute: false }) members: Member[] = [];
  @property({ attribute: false }) replying: Quote | null = null;
  @property({ attribute: false }) editing: { seq: number; body: string } | null = null;
  @state() private value = "";
  @state() private suggestions: Member[] = [];
  @state() private active = 0;
  private mentionAt = -1;
  @query("textarea") private field!: HTMLTextAreaElement;

  static override styles = [
    base,
    css`
      :host { display: block; padding: var(--space-3) var(--space-4) var(--space-4); position: relative; }
      form {
        display: flex; align-items: flex-end; gap: var(--space-2);
        background: var(--surface); border: 1px solid var(--border); border-radius: 22px;
        padding: 6px 6px 6px 16px; box-shadow: var(--shadow-1);
      }
      form:focus-within { border-color: var(--accent); }
      textarea {
        flex: 1; resize: none; border: none; outline: none; background: transparent; color: var(--text);
        font: inherit; font-size: 14.5px; line-height: 1.4; padding: 7px 0; max-height: 160px; min-height: 22px;
      }
      textarea:focus-visible { outline: none; }
      .send {
        flex: none; width: 36px; height: 36px; border-radius: 50%; border: none;
        background: var(--accent); color: var(--on-accent); display: grid; place-items: center;
      }
      .send[disabled] { opacity: 0.4; cursor: default; }
      .count { font-size: 11px; color: var(--danger); margin: 4px 16px 0; text-align: right; }
      .context { display: flex; align-items: center; gap: var(--space-2); margin: 0 8px 6px; font-size: 12.5px; color: var(--text-2); }
      .context span { flex: 1; min-width: 0; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
      .context strong { color: var(--text); font-weight: 650; }
      .context button { border: none; background: none; color: var(--accent); font-weight: 600; font-size: 12.5px; padding: 2px 6px; }
      ul[role="listbox"] {
        position: absolute; bottom: calc(100% - 8px); left: var(--space-4); min-width: 220px; margin: 0; padding: 4px;
        list-style: none; background: var(--surface); border: 1px solid var(--border); border-radius: var(--radius-m);
        box-shadow: var(--shadow-2); z-index: 3;
      }
      li { padding: 6px 10px; border-radius: var(--radius-s); font-size: 14px; cursor: pointer; }
      li[aria-selected="true"] { background: var(--selected); }
    `,
  ];

  override focus() {
    this.field?.focus();
  }

  protected override willUpdate(changed: PropertyValues<this>) {
    // editing starts with the message's text in the field
    if (changed.has("editing") && this.editing) this.value = this.editing.body;
    if (changed.has("editing") && !this.editing && changed.get("editing")) this.value = "";
  }

  protected override updated(changed: PropertyValues<this>) {
    if ((changed.has("editing") && this.editing) || (changed.has("replying") && this.replying)) this.field.focus();
  }

  private fire(type: string, detail?: unknown) {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }

  private onInput(e: Event) {
    const t = e.target as HTMLTextAreaElement;
    this.value = t.value;
    t.style.height = "auto";
    t.style.height = `${Math.min(t.scrollHeight, 160)}px`;
    this.suggest();
    if (this.value.trim() && !this.editing) this.fire("typing");
  }

  /** Members whose names start with the `@prefix` right before the caret. */
  private suggest() {
    const typed = typedMention(this.value, this.field?.selectionStart ?? this.value.length);
    const prefix = typed?.prefix.toLowerCase();
    this.suggestions =
      prefix === undefined
        ? []
        : this.members.filter((m) => m.username.toLowerCase().startsWith(prefix)).slice(0, SUGGESTIONS_MAX);
    this.mentionAt = typed?.start ?? -1;
    this.active = 0;
  }

  private pick(m: Member) {
    const caret = this.field.selectionStart ?? this.value.length;
    const before = `${this.value.slice(0, this.mentionAt)}@${m.username} `;
    this.value = before + this.value.slice(caret);
    this.field.value = this.value;
    this.field.setSelectionRange(before.length, before.length);
    this.suggestions = [];
    this.field.focus();
  }

  private onKey(e: KeyboardEvent) {
    const open = this.suggestions.length > 0;
    if (open && (e.key === "ArrowDown" || e.key === "ArrowUp")) {
      e.preventDefault();
      const n = this.suggestions.length;
      this.active = (this.active + (e.key === "ArrowDown" ? 1 : n - 1)) % n;
    } else if (open && (e.key === "Enter" || e.key === "Tab") && !e.shiftKey) {
      e.preventDefault();
      this.pick(this.suggestions[this.active]!);
    } else if (e.key === "Escape" && (open || this.editing || this.replying)) {
      // closes what is open here; a bare Escape goes on to the thread (back, on a phone)
      e.stopPropagation();
      if (open) this.suggestions = [];
      else if (this.editing) this.fire("cancel-edit");
      else this.fire("cancel-reply");
    } else if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      this.submit();
    }
  }

  private submit(e?: Event) {
    e?.preventDefault();
    const body = this.value.trim();
    if (!body || chars(body) > MESSAGE_BODY_MAX) return;
    if (this.editing) this.fire("save-edit", { seq: this.editing.seq, body });
    else this.fire("send-message", { body });
    this.value = "";
    this.field.value = "";
    this.field.style.height = "auto";
    this.suggestions = [];
  }

  private context() {
    if (this.editing)
      return html`<div class="context"><span><strong>Editing your message</strong> · Escape to cancel</span>
        <button type="button" @click=${() => this.fire("cancel-edit")}>Cancel</button></div>`;
    const q = this.replying;
    if (!q) return nothing;
    return html`<div class="context"><span>Replying to <strong>${q.sender || "a message"}</strong>: ${q.deleted ? "Message deleted" : q.text}</span>
      <button type="button" aria-label="Cancel the reply" @click=${() => this.fire("cancel-reply")}>Cancel</button></div>`;
  }

  override render() {
    const length = chars(this.value.trim());
    const tooLong = length > MESSAGE_BODY_MAX;
    const open = this.suggestions.length > 0;
    return html`${this.context()}
      ${
        open
          ? html`<ul role="listbox" id="mentions" aria-label="Members to mention">${this.suggestions.map(
              (m, i) =>
                html`<li role="option" id="mention-${i}" aria-selected=${i === this.active ? "true" : "false"}
                  @mousedown=${(e: Event) => {
                    e.preventDefault();
                    this.pick(m);
                  }}>@${m.username}</li>`,
            )}</ul>`
          : nothing
      }
      <form @submit=${this.submit}>
        <textarea rows="1" aria-label=${this.editing ? "Edit message" : "Message"} placeholder=${this.placeholder} .value=${this.value}
          aria-autocomplete="list" aria-controls=${open ? "mentions" : nothing}
          aria-activedescendant=${open ? `mention-${this.active}` : nothing}
          @input=${this.onInput} @keydown=${this.onKey} @click=${() => this.suggest()}></textarea>
        <button class="send" type="submit" aria-label=${this.editing ? "Save" : "Send"} ?disabled=${!this.value.trim() || tooLong}>
          <svg width="18" height="18" viewBox="0 0 24 24" aria-hidden="true" fill="currentColor"><path d="M3.4 20.4 21 12 3.4 3.6l-.01 6.53L15 12 3.39 13.87z"/></svg>
        </button>
      </form>
      ${tooLong ? html`<div class="count" role="alert">${length} / ${MESSAGE_BODY_MAX} characters: too long</div>` : ""}`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "message-composer": MessageComposer;
  }
}
