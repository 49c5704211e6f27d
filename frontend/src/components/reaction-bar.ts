import { LitElement, css, html, nothing } from "lit";
import { customElement, property } from "lit/decorators.js";
import type { Reaction } from "@parley/contract";
import { base } from "../styles/tokens.ts";

/**
 * The reactions under a message: each emoji with how many reacted, the user's own pressed. A
 * chip says who reacted (its title, and in words for a screen reader) and toggles the user's
 * own reaction.
 * @fires react - detail `{emoji, on}`: the user sets their reaction on or off
 */
@customElement("reaction-bar")
export class ReactionBar extends LitElement {
  @property({ attribute: false }) reactions: Reaction[] = [];
  @property() me = "";
  /** user id → name, to say who reacted */
  @property({ attribute: false }) names = new Map<string, string>();

  static override styles = [
    base,
    css`
      :host { display: flex; flex-wrap: wrap; gap: 4px; margin: 4px 2px 0; }
      button {
        display: inline-flex; align-items: center; gap: 4px; padding: 1px 8px; min-height: 26px;
        border-radius: 999px; border: 1px solid var(--border); background: var(--surface); font-size: 13px;
      }
      button:hover { background: var(--surface-hover); }
      button[aria-pressed="true"] { border-color: var(--accent); background: var(--selected); }
      .n { font-size: 12px; font-weight: 650; color: var(--text-2); }
    `,
  ];

  private who(r: Reaction): string {
    const names = r.userIds.map((id) => (id === this.me ? "you" : (this.names.get(id) ?? "someone")));
    return names.length <= 1 ? (names[0] ?? "") : `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`;
  }

  override render() {
    if (!this.reactions.length) return nothing;
    return this.reactions.map((r) => {
      const mine = r.userIds.includes(this.me);
      const who = this.who(r);
      const action = mine ? "remove your reaction" : "react with it too";
      return html`<button aria-pressed=${mine ? "true" : "false"} title=${who} aria-label="${r.emoji} ${r.userIds.length}: ${who}. Press to ${action}."
        @click=${() => this.dispatchEvent(new CustomEvent("react", { detail: { emoji: r.emoji, on: !mine }, bubbles: true, composed: true }))}>
        <span aria-hidden="true">${r.emoji}</span><span class="n" aria-hidden="true">${r.userIds.length}</span></button>`;
    });
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "reaction-bar": ReactionBar;
  }
}
