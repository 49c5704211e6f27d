import { LitElement, css, html } from "lit";
import { customElement, property } from "lit/decorators.js";
import type { ConnectionStatus } from "../state/socket-client.ts";
import { base } from "../styles/tokens.ts";

const LABEL: Record<ConnectionStatus, string> = {
  online: "Connected",
  connecting: "Connecting…",
  reconnecting: "Reconnecting…",
  offline: "Offline",
};

/** The live connection's state, always visible, spoken when it changes. */
@customElement("connection-status")
export class ConnectionStatusElement extends LitElement {
  @property() status: ConnectionStatus = "offline";

  static override styles = [
    base,
    css`
      :host { display: inline-flex; }
      .pill {
        display: inline-flex; align-items: center; gap: 6px; font-size: 12px; color: var(--text-2);
        padding: 3px 10px 3px 8px; border-radius: 999px; background: var(--surface-2);
      }
      .dot { width: 8px; height: 8px; border-radius: 50%; background: var(--text-3); }
      .online .dot { background: var(--success); }
      .connecting .dot, .reconnecting .dot { background: var(--warning); animation: pulse 1s ease-in-out infinite; }
      .offline .dot { background: var(--danger); }
      .offline { color: var(--danger); background: var(--danger-bg); }
      @keyframes pulse { 50% { opacity: 0.3; } }
      @media (prefers-reduced-motion: reduce) { .dot { animation: none !important; } }
    `,
  ];

  override render() {
    return html`<span class="pill ${this.status}" role="status" aria-live="polite" data-status=${this.status}>
      <span class="dot" aria-hidden="true"></span>${LABEL[this.status]}</span>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "connection-status": ConnectionStatusElement;
  }
}
