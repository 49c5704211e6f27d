import { LitElement, css, html } from "lit";
import { customElement, property, query, state } from "lit/decorators.js";
import { MESSAGE_BODY_MAX } from "@parley/contract/limits";
import { base } from "../styles/tokens.ts";

/** Characters as the api counts them: code points (an emoji is one). */
const chars = (s: string) => [...s].length;

/**
 * Where messages are written. Enter sends, Shift+Enter breaks the line.
 * @fires send-message - detail `{body}`: the user sent a message
 * @fires typing - the user is typing (the store throttles what goes on the wire)
 */
@customElement("message-composer")
export class MessageComposer extends LitElement {
  @property() placeholder = "Write a message";
  @state() private value = "";
  @query("textarea") private field!: HTMLTextAreaElement;

  static override styles = [
    base,
    css`
      :host { display: block; padding: var(--space-3) var(--space-4) var(--space-4); }
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
    `,
  ];

  override focus() {
    this.field?.focus();
  }

  private onInput(e: Event) {
    const t = e.target as HTMLTextAreaElement;
    this.value = t.value;
    t.style.height = "auto";
    t.style.height = `${Math.min(t.scrollHeight, 160)}px`;
    if (this.value.trim()) this.dispatchEvent(new CustomEvent("typing", { bubbles: true, composed: true }));
  }

  private onKey(e: KeyboardEvent) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      this.submit();
    }
  }

  private submit(e?: Event) {
    e?.preventDefault();
    const body = this.value.trim();
    if (!body || chars(body) > MESSAGE_BODY_MAX) return;
    this.dispatchEvent(new CustomEvent("send-message", { detail: { body }, bubbles: true, composed: true }));
    this.value = "";
    this.field.value = "";
    this.field.style.height = "auto";
  }

  override render() {
    const length = chars(this.value.trim());
    const tooLong = length > MESSAGE_BODY_MAX;
    return html`<form @submit=${this.submit}>
        <textarea rows="1" aria-label="Message" placeholder=${this.placeholder} .value=${this.value}
          @input=${this.onInput} @keydown=${this.onKey}></textarea>
        <button class="send" type="submit" aria-label="Send" ?disabled=${!this.value.trim() || tooLong}>
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
