import { LitElement, css, html, nothing } from "lit";
import { customElement, property } from "lit/decorators.js";

/** "alice is typing…" with three soft dots; empty when nobody types. */
@customElement("typing-indicator")
export class TypingIndicator extends LitElement {
  @property({ type: Array }) names: string[] = [];

  static override styles = css`
    :host { display: block; min-height: 22px; font-size: 12.5px; color: var(--text-2); padding: 0 var(--space-5); }
    .dots { display: inline-flex; gap: 3px; margin-right: 6px; vertical-align: middle; }
    .dots span { width: 5px; height: 5px; border-radius: 50%; background: var(--text-3); animation: b 1.2s infinite; }
    .dots span:nth-child(2) { animation-delay: 0.15s; }
    .dots span:nth-child(3) { animation-delay: 0.3s; }
    @keyframes b { 0%, 60%, 100% { transform: translateY(0); opacity: 0.5; } 30% { transform: translateY(-3px); opacity: 1; } }
    @media (prefers-reduced-motion: reduce) { .dots span { animation: none; } }
  `;

  override render() {
    if (!this.names.length) return nothing;
    const who =
      this.names.length === 1
        ? `${this.names[0]} is typing…`
        : this.names.length === 2
          ? `${this.names[0]} and ${this.names[1]} are typing…`
          : "Several people are typing…";
    return html`<span class="dots" aria-hidden="true"><span></span><span></span><span></span></span><span>${who}</span>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "typing-indicator": TypingIndicator;
  }
}
