import { LitElement, css, html, nothing } from "lit";
import { customElement, state } from "lit/decorators.js";
import { unreadTotal } from "../state/conversations.ts";
import { StoreController } from "../state/store-controller.ts";
import { base, tokens } from "../styles/tokens.ts";
import "./auth-screen.ts";
import "./chat-thread.ts";
import "./conversation-list.ts";
import "./new-chat-dialog.ts";

const NARROW = "(max-width: 760px)";

/**
 * The application shell: signs the user in, then lays out the list and the open conversation —
 * side by side on a desktop, one pane at a time on a phone. The open conversation is in the
 * URL hash (#/c/<id>) so reload and the back button keep it.
 */
@customElement("parley-app")
export class ParleyApp extends LitElement {
  private s = new StoreController(this);
  @state() private narrow = matchMedia(NARROW).matches;
  @state() private dialogOpen = false;

  static override styles = [
    tokens,
    base,
    css`
      :host { display: block; height: 100%; background: var(--bg); font-size: 15px; -webkit-font-smoothing: antialiased; }
      .shell { display: grid; grid-template-columns: minmax(300px, 360px) 1fr; height: 100%; }
      .shell.narrow { grid-template-columns: 1fr; }
      conversation-list { border-right: 1px solid var(--border); height: 100%; overflow: hidden; }
      .narrow conversation-list { border-right: none; }
      .pane { display: flex; height: 100%; min-height: 0; min-width: 0; }
      .pane chat-thread { flex: 1; }
      .placeholder { height: 100%; }
      /* the dialog lives in the top layer; it must not take a grid cell */
      new-chat-dialog { position: absolute; }
      .placeholder { display: grid; place-items: center; text-align: center; color: var(--text-2); padding: var(--space-6); }
      .placeholder h2 { color: var(--text); font-size: 20px; margin: var(--space-4) 0 var(--space-2); }
      .placeholder p { margin: 0 0 var(--space-4); line-height: 1.5; max-width: 340px; }
      .art { width: 88px; height: 88px; border-radius: 28px; display: grid; place-items: center; margin: 0 auto;
        background: var(--selected); color: var(--accent); }
      .splash { display: grid; place-items: center; height: 100%; color: var(--text-2); }
    `,
  ];

  override connectedCallback() {
    super.connectedCallback();
    addEventListener("hashchange", this.route);
    matchMedia(NARROW).addEventListener("change", this.onMedia);
    void this.s.store.init();
  }

  override disconnectedCallback() {
    super.disconnectedCallback();
    removeEventListener("hashchange", this.route);
    matchMedia(NARROW).removeEventListener("change", this.onMedia);
  }

  private wasSignedIn = false;
  protected override willUpdate() {
    // signing in (not only loading the page) also opens the conversation named in the URL
    const signedIn = this.s.store.session.status === "signed-in";
    if (signedIn && !this.wasSignedIn) queueMicrotask(this.route);
    this.wasSignedIn = signedIn;
  }

  private onMedia = (e: MediaQueryListEvent) => (this.narrow = e.matches);

  protected override updated() {
    // the unread total in the tab's title, seen from other tabs and the taskbar
    const total = this.s.store.session.status === "signed-in" ? unreadTotal(this.s.store.conversations) : 0;
    const title = total > 0 ? `(${total > 99 ? "99+" : total}) Parley` : "Parley";
    if (document.title !== title) document.title = title;
  }

  private route = () => {
    const id = /^#\/c\/([0-9a-f]{24})$/.exec(location.hash)?.[1] ?? null;
    if (this.s.store.session.status === "signed-in") this.s.store.open(id);
  };

  private go(id: string | null) {
    const hash = id ? `#/c/${id}` : "";
    if (location.hash !== hash) {
      if (id) location.hash = hash;
      else history.pushState(null, "", location.pathname + location.search);
    }
    // routes now, so the pane to focus is rendered; the hashchange that follows opens the same
    // conversation again, which the store answers without a second request
    this.route();
    // each pane knows what inside it should take focus
    const pane = id ? "chat-thread" : "conversation-list";
    void this.updateComplete.then(() => this.renderRoot.querySelector<HTMLElement>(pane)?.focus());
  }

  override render() {
    const st = this.s.store;
    const live = html`<div class="sr-only" aria-live="polite" aria-atomic="true" id="announcer">${st.announcement}</div>`;
    if (st.session.status === "loading") return html`<div class="splash" role="status">Loading Parley…</div>`;
    if (st.session.status === "signed-out") {
      return html`<auth-screen .notice=${st.session.reason ?? ""}></auth-screen>`;
    }
    const active = st.activeId;
    const showList = !this.narrow || !active;
    const showThread = !this.narrow || !!active;
    return html`<div class="shell ${this.narrow ? "narrow" : ""}"
        @conversation-select=${(e: CustomEvent<{ id: string }>) => this.go(e.detail.id)}
        @conversation-created=${(e: CustomEvent<{ id: string }>) => this.go(e.detail.id)}
        @back=${() => this.go(null)}
        @new-chat=${() => (this.dialogOpen = true)}
        @dialog-closed=${() => (this.dialogOpen = false)}
        @sign-out=${() => void st.logout().then(() => history.replaceState(null, "", location.pathname))}
        @sign-out-everywhere=${() => void st.logoutEverywhere().then(() => history.replaceState(null, "", location.pathname))}>
        ${showList ? html`<conversation-list active-id=${active ?? ""} ?primary=${this.narrow}></conversation-list>` : nothing}
        ${
          showThread
            ? active
              ? html`<main class="pane"><chat-thread conversation-id=${active} ?narrow=${this.narrow}></chat-thread></main>`
              : html`<main class="placeholder"><div>
                <div class="art" aria-hidden="true"><svg width="40" height="40" viewBox="0 0 24 24" fill="currentColor"><path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"/></svg></div>
                <h2>${st.conversations.length ? "Pick a conversation" : "Welcome to Parley"}</h2>
                <p>${st.conversations.length ? "Choose a conversation on the left, or start a new one." : "Start a chat with someone by their username. Pick several people to make a group."}</p>
                <button class="btn" @click=${() => (this.dialogOpen = true)}>New chat</button></div></main>`
            : nothing
        }
        <new-chat-dialog ?open=${this.dialogOpen}></new-chat-dialog>
      </div>${live}`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "parley-app": ParleyApp;
  }
}
