import { LitElement, css, html } from "lit";
import { customElement, property } from "lit/decorators.js";
import type { Quote } from "../state/selectors.ts";
import { base } from "../styles/tokens.ts";

/**
 * The message a reply answers, quoted above it: who wrote it and the start of its text, or that
 * it was deleted. Pressing it shows the original, loading older history if needed.
 * @fires quote - detail `{seq}`: the user wants to see the quoted message
 */
@customElement("reply-quote")
export class ReplyQuote extends LitElement {
  @property({ attribute: false }) quote: Quote | null = null;

  static override styles = [
    base,
    css`
      :host { display: block; max-width: 100%; }
      button {
        display: block; width: 100%; text-align: left; border: none; border-left: 3px solid var(--accent);
        border-radius: 6px; padding: 4px 8px; margin: 0 0 6px; background: rgb(127 127 127 / 0.14); color: inherit;
        font-size: 12.5px; line-height: 1.35; overflow: hidden; text-overflow: ellipsis; white-space: nowrap;
      }
      strong { font-weight: 650; margin-right: 4px; }
      em { opacity: 0.85; }
    `,
  ];

  override render() {
    const q = this.quote;
    if (!q) return html``;
    const text = q.deleted ? html`<em>Message deleted</em>` : q.text;
    // its name is what it shows, after words that say what it is (pressing it shows the original)
    return html`<button title="Show the original message"
      @click=${() => this.dispatchEvent(new CustomEvent("quote", { detail: { seq: q.seq }, bubbles: true, composed: true }))}>
      <span class="sr-only">In reply to </span>${q.sender ? html`<strong>${q.sender}</strong>` : ""}${text}</button>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "reply-quote": ReplyQuote;
  }
}
