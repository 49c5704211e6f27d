import { LitElement, css, html, nothing } from "lit";
import { customElement, property, state } from "lit/decorators.js";
import { PASSWORD_MAX, PASSWORD_MIN, USERNAME_MAX, USERNAME_MIN, USERNAME_PATTERN } from "@parley/contract/limits";
import { explainAuthError, type AuthProblem } from "../state/explain.ts";
import { StoreController } from "../state/store-controller.ts";
import { base } from "../styles/tokens.ts";

type Mode = "login" | "register";
type Errors = Omit<AuthProblem, "waitSeconds">;

const usernameRe = new RegExp(USERNAME_PATTERN);

/** Sign in or create an account, with the api's answers turned into clear field errors. */
@customElement("auth-screen")
export class AuthScreen extends LitElement {
  private s = new StoreController(this);
  @property() notice = "";
  @state() private mode: Mode = "login";
  @state() private errors: Errors = {};
  @state() private busy = false;
  @state() private waitUntil = 0;
  private tick: ReturnType<typeof setInterval> | undefined;

  static override styles = [
    base,
    css`
      :host { display: grid; place-items: center; min-height: 100%; padding: var(--space-5) var(--space-4); background: var(--bg); }
      .card {
        width: min(400px, 100%); background: var(--surface); border-radius: 20px; box-shadow: var(--shadow-2);
        padding: var(--space-6) var(--space-6) var(--space-5); border: 1px solid var(--border);
      }
      .logo { display: grid; place-items: center; width: 52px; height: 52px; border-radius: 16px; margin: 0 auto var(--space-3);
        background: linear-gradient(135deg, var(--accent), #8b5cf6); color: #fff; box-shadow: var(--shadow-1); }
      h1 { text-align: center; margin: 0; font-size: 24px; letter-spacing: -0.02em; }
      .tagline { text-align: center; color: var(--text-2); margin: 6px 0 var(--space-5); font-size: 14px; }
      .tabs { display: grid; grid-template-columns: 1fr 1fr; background: var(--surface-2); border-radius: var(--radius-m); padding: 4px; margin-bottom: var(--space-5); }
      .tabs button { border: none; background: transparent; padding: 8px; border-radius: 9px; font-weight: 600; font-size: 14px; color: var(--text-2); }
      .tabs button[aria-selected="true"] { background: var(--surface); color: var(--text); box-shadow: var(--shadow-1); }
      .field { margin-bottom: var(--space-4); }
      label { display: block; font-size: 13px; font-weight: 600; margin-bottom: 6px; color: var(--text-2); }
      input {
        width: 100%; font: inherit; font-size: 15px; padding: 11px 12px; border-radius: var(--radius-s);
        border: 1px solid var(--border); background: var(--surface-2); color: var(--text);
      }
      input:focus-visible { outline: 2px solid var(--focus); outline-offset: 0; border-color: transparent; background: var(--surface); }
      input[aria-invalid="true"] { border-color: var(--danger); }
      .hint { font-size: 12px; color: var(--text-3); margin-top: 5px; }
      .err { font-size: 12.5px; color: var(--danger); margin-top: 5px; font-weight: 500; }
      .form-err { background: var(--danger-bg); color: var(--danger); border-radius: var(--radius-s); padding: 10px 12px; font-size: 13.5px; margin-bottom: var(--space-4); }
      .notice { background: var(--selected); border-radius: var(--radius-s); padding: 10px 12px; font-size: 13.5px; margin-bottom: var(--space-4); }
      .submit { width: 100%; padding: 12px; font-size: 15px; }
    `,
  ];

  override disconnectedCallback() {
    super.disconnectedCallback();
    clearInterval(this.tick);
  }

  private switchTo(mode: Mode) {
    this.mode = mode;
    this.errors = {};
  }

  private validate(username: string, password: string): Errors {
    const e: Errors = {};
    if (this.mode === "register") {
      if (username.length < USERNAME_MIN || username.length > USERNAME_MAX)
        e.username = `Use ${USERNAME_MIN} to ${USERNAME_MAX} characters.`;
      else if (!usernameRe.test(username)) e.username = "Use only letters, digits, dots, dashes and underscores.";
      if (password.length < PASSWORD_MIN || password.length > PASSWORD_MAX)
        e.password = `Use ${PASSWORD_MIN} to ${PASSWORD_MAX} characters.`;
    } else {
      if (!username) e.username = "Enter your username.";
      if (!password) e.password = "Enter your password.";
    }
    return e;
  }

  private async submit(ev: SubmitEvent) {
    ev.preventDefault();
    if (this.busy || this.waitUntil > Date.now()) return;
    const data = new FormData(ev.target as HTMLFormElement);
    const username = String(data.get("username") ?? "").trim();
    const password = String(data.get("password") ?? "");
    this.errors = this.validate(username, password);
    if (Object.keys(this.errors).length) return this.focusFirstError();
    this.busy = true;
    try {
      const st = this.s.store;
      await (this.mode === "register" ? st.register({ username, password }) : st.login({ username, password }));
    } catch (e) {
      this.errors = this.explain(e);
      this.focusFirstError();
    } finally {
      this.busy = false;
    }
  }

  private explain(e: unknown): Errors {
    const { waitSeconds, ...errors } = explainAuthError(e);
    if (waitSeconds !== undefined) {
      this.waitUntil = Date.now() + waitSeconds * 1000;
      clearInterval(this.tick);
      this.tick = setInterval(() => {
        this.requestUpdate();
        if (Date.now() >= this.waitUntil) clearInterval(this.tick);
      }, 1000);
    }
    return errors;
  }

  private async focusFirstError() {
    await this.updateComplete;
    this.renderRoot.querySelector<HTMLElement>('[aria-invalid="true"], .form-err')?.focus();
  }

  override render() {
    const reg = this.mode === "register";
    const e = this.errors;
    const wait = Math.max(0, Math.ceil((this.waitUntil - Date.now()) / 1000));
    return html`<main class="card">
      <div class="logo" aria-hidden="true"><svg width="28" height="28" viewBox="0 0 24 24" fill="currentColor"><path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"/></svg></div>
      <h1>Parley</h1>
      <p class="tagline">Conversations that keep up with you.</p>
      <div class="tabs" role="tablist" aria-label="Account">
        <button role="tab" aria-selected=${!reg} @click=${() => this.switchTo("login")}>Sign in</button>
        <button role="tab" aria-selected=${reg} @click=${() => this.switchTo("register")}>Create account</button>
      </div>
      ${this.notice ? html`<div class="notice" role="status">${this.notice}</div>` : nothing}
      <form @submit=${this.submit} novalidate aria-label=${reg ? "Create account" : "Sign in"}>
        ${
          e.form || wait
            ? html`<div class="form-err" role="alert" tabindex="-1">${e.form ?? ""}${wait ? ` Try again in ${wait} s.` : ""}</div>`
            : nothing
        }
        <div class="field">
          <label for="username">Username</label>
          <input id="username" name="username" autocomplete="username" autocapitalize="none" spellcheck="false"
            maxlength=${reg ? USERNAME_MAX : 200} aria-invalid=${e.username ? "true" : "false"}
            aria-describedby=${e.username ? "username-err" : reg ? "username-hint" : ""} />
          ${
            e.username
              ? html`<div class="err" id="username-err">${e.username}</div>`
              : reg
                ? html`<div class="hint" id="username-hint">${USERNAME_MIN}–${USERNAME_MAX} letters, digits, dots, dashes or underscores.</div>`
                : nothing
          }
        </div>
        <div class="field">
          <label for="password">Password</label>
          <input id="password" name="password" type="password" autocomplete=${reg ? "new-password" : "current-password"}
            aria-invalid=${e.password ? "true" : "false"} aria-describedby=${e.password ? "password-err" : reg ? "password-hint" : ""} />
          ${
            e.password
              ? html`<div class="err" id="password-err">${e.password}</div>`
              : reg
                ? html`<div class="hint" id="password-hint">At least ${PASSWORD_MIN} characters.</div>`
                : nothing
          }
        </div>
        <button class="btn submit" type="submit" ?disabled=${this.busy || wait > 0}>
          ${this.busy ? (reg ? "Creating account…" : "Signing in…") : reg ? "Create account" : "Sign in"}</button>
      </form>
    </main>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "auth-screen": AuthScreen;
  }
}
