import { LitElement, css, html } from "lit";
import { customElement, property } from "lit/decorators.js";
import { base } from "../styles/tokens.ts";

/** A change of the group in the thread, in its place among the messages: "alice added bob". */
@customElement("system-line")
export class SystemLine extends LitElement {
  @property() text = "";
  @property() time = "";

  static override styles = [
    base,
    css`
      :host { display: flex; justify-content: center; margin: 10px var(--space-5) 4px; }
      p { margin: 0; padding: 4px 12px; border-radius: 999px; font-size: 12.5px; color: var(--text-2); background: var(--surface-2); text-align: center; }
      time { color: var(--text-3); margin-left: 6px; }
    `,
  ];

  override render() {
    return html`<p>${this.text}<time aria-hidden="true">${this.time}</time><span class="sr-only">, ${this.time}</span></p>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "system-line": SystemLine;
  }
}
