import { LitElement, css, html, nothing, type PropertyValues } from "lit";
import { customElement, property } from "lit/decorators.js";
import { base } from "../styles/tokens.ts";

/**
 * Above the composer while the user's messages wait out the server's send limit: says that
 * they wait, that they will go out in order, and counts down. Announced once when it appears
 * (the countdown's digits are not re-announced every second).
 */
@customElement("send-notice")
export class SendNotice extends LitElement {
  /** when the wait ends (ms since the epoch); 0 when nothing waits */
  @property({ type: Number }) until = 0;
  /** how many messages wait in this conversation */
  @property({ type: Number }) waiting = 0;
  private ticker: ReturnType<typeof setInterval> | undefined;

  static override styles = [
    base,
    css`
      :host { display: block; }
      p {
        margin: 0 var(--space-4); padding: 6px 12px; border-radius: var(--radius-s);
        background: var(--selected); color: var(--text); font-size: 12.5px; line-height: 1.4;
      }
    `,
  ];

  override disconnectedCallback() {
    super.disconnectedCallback();
    clearInterval(this.ticker);
    this.ticker = undefined;
  }

  protected override updated(changed: PropertyValues<this>) {
    if (!changed.has("until")) return;
    clearInterval(this.ticker);
    this.ticker = this.until > Date.now() ? setInterval(() => this.tick(), 1000) : undefined;
  }

  private tick() {
    this.requestUpdate();
    if (Date.now() >= this.until) {
      clearInterval(this.ticker);
      this.ticker = undefined;
    }
  }

  override render() {
    const seconds = Math.ceil((this.until - Date.now()) / 1000);
    const show = this.waiting > 0 && seconds > 0;
    const what = this.waiting === 1 ? "Your message waits" : `Your ${this.waiting} messages wait`;
    return html`<div role="status">${
      show
        ? html`<p>Sending limit reached. ${what} and will go out in order in
            <span aria-hidden="true">${seconds} s</span><span class="sr-only">a few seconds</span>.</p>`
        : nothing
    }</div>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "send-notice": SendNotice;
  }
}
