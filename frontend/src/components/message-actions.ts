import { LitElement, css, html, nothing } from "lit";
import { customElement, property, query, state } from "lit/decorators.js";
import { QUICK_REACTIONS, isSingleEmoji } from "@parley/contract/limits";
import { base } from "../styles/tokens.ts";

type Panel = "" | "react" | "delete";

/**
 * What one can do with a message: react (six emoji at hand, or any single emoji typed), reply,
 * and for one's own message edit and delete (asked once more). Shown on hover and whenever
 * focus is inside the message, so it is reachable with the keyboard alone.
 * @fires react - detail `{emoji, on: true}`
 * @fires reply - the user answers this message
 * @fires edit - the user edits this message
 * @fires delete - the user confirmed deleting this message
 */
@customElement("message-actions")
export class MessageActions extends LitElement {
  @property({ type: Boolean }) own = false;
  /** who wrote it and when, to name the buttons ("React to bob's message, 10:42") */
  @property() about = "";
  @state() private panel: Panel = "";
  @state() private other = "";
  @query(".toggle") private toggleButton?: HTMLButtonElement;

  static override styles = [
    base,
    css`
      :host { display: inline-flex; flex-direction: column; gap: 4px; }
      .bar { display: inline-flex; gap: 2px; background: var(--surface); border: 1px solid var(--border);
        border-radius: 999px; padding: 2px; box-shadow: var(--shadow-1); }
      .bar button, .panel button { border: none; background: none; border-radius: 999px; padding: 3px 8px;
        font-size: 12.5px; color: var(--text-2); min-height: 26px; }
      .bar button:hover, .panel button:hover { background: var(--surface-hover); color: var(--text); }
      .panel { display: flex; flex-wrap: wrap; align-items: center; gap: 2px; background: var(--surface);
        border: 1px solid var(--border); border-radius: var(--radius-m); padding: 4px; box-shadow: var(--shadow-2); }
      .panel .emoji { font-size: 18px; padding: 2px 6px; }
      input { width: 7.5em; font: inherit; font-size: 13px; padding: 3px 6px; border-radius: 6px;
        border: 1px solid var(--border); background: var(--surface-2); color: var(--text); }
      .danger { color: var(--danger) !important; font-weight: 650; }
      .ask { font-size: 12.5px; padding: 0 4px; }
    `,
  ];

  private fire(type: string, detail?: unknown) {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }

  private open(panel: Panel) {
    this.panel = this.panel === panel ? "" : panel;
    this.other = "";
  }

  private close() {
    this.panel = "";
    void this.updateComplete.then(() => this.toggleButton?.focus());
  }

  private react(emoji: string) {
    this.fire("react", { emoji, on: true });
    this.close();
  }

  private onKey(e: KeyboardEvent) {
    if (e.key === "Escape" && this.panel) {
      e.stopPropagation();
      this.close();
    }
  }

  override render() {
    const valid = isSingleEmoji(this.other.trim());
    const panel =
      this.panel === "react"
        ? html`<div class="panel" role="group" aria-label="Reactions">
            ${QUICK_REACTIONS.map((e) => html`<button class="emoji" aria-label="React with ${e}" @click=${() => this.react(e)}>${e}</button>`)}
            <form @submit=${(ev: Event) => {
              ev.preventDefault();
              if (valid) this.react(this.other.trim());
            }}><input aria-label="Another emoji" placeholder="Other emoji" .value=${this.other}
              @input=${(ev: Event) => (this.other = (ev.target as HTMLInputElement).value)} />
              <button type="submit" ?disabled=${!valid}>Add</button></form></div>`
        : this.panel === "delete"
          ? html`<div class="panel" role="group" aria-label="Delete this message?">
              <span class="ask">Delete this message for everyone?</span>
              <button class="danger" @click=${() => {
                this.panel = "";
                this.fire("delete");
              }}>Delete</button>
              <button @click=${() => this.close()}>Cancel</button></div>`
          : nothing;
    return html`<div class="bar" @keydown=${this.onKey}>
        <button class="toggle" aria-expanded=${this.panel === "react" ? "true" : "false"} aria-label="React to ${this.about}"
          @click=${() => this.open("react")}>React</button>
        <button aria-label="Reply to ${this.about}" @click=${() => this.fire("reply")}>Reply</button>
        ${
          this.own
            ? html`<button aria-label="Edit ${this.about}" @click=${() => this.fire("edit")}>Edit</button>
              <button aria-label="Delete ${this.about}" aria-expanded=${this.panel === "delete" ? "true" : "false"}
                @click=${() => this.open("delete")}>Delete</button>`
            : nothing
        }
      </div><div @keydown=${this.onKey}>${panel}</div>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "message-actions": MessageActions;
  }
}
