/**
 * Design tokens as CSS custom properties. They are set once on the app's :host and inherit
 * into every shadow root, so light/dark and theming live in this one place.
 */
import { css } from "lit";

export const tokens = css`
  :host {
    --font: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
    --radius-s: 8px;
    --radius-m: 12px;
    --radius-l: 18px;
    --space-1: 4px;
    --space-2: 8px;
    --space-3: 12px;
    --space-4: 16px;
    --space-5: 24px;
    --space-6: 32px;

    --bg: #f4f5f8;
    --surface: #ffffff;
    --surface-2: #f0f2f6;
    --surface-hover: #f3f5fa;
    --selected: #e8edff;
    --border: #e3e6ec;
    --text: #1b1e27;
    --text-2: #5d6473;
    /* the lightest text still reads at 4.5:1 on every light surface (WCAG AA, checked by axe) */
    --text-3: #646b7a;
    --accent: #4f5bd5;
    --accent-strong: #3f49b8;
    --on-accent: #ffffff;
    --bubble-own: #4f5bd5;
    --bubble-own-text: #ffffff;
    --bubble-other: #ffffff;
    --bubble-other-text: #1b1e27;
    --danger: #c4314b;
    --danger-bg: #fdecef;
    --success: #15803d;
    --warning: #b7791f;
    --focus: #7c86ff;
    /* a mention of the reader: marked on the name and beside the message (4.5:1 both) */
    --mention-bg: #fff1bf;
    --mention-text: #4d3800;
    --mention-edge: #d99a00;
    --shadow-1: 0 1px 2px rgb(16 24 40 / 0.06), 0 1px 3px rgb(16 24 40 / 0.08);
    --shadow-2: 0 8px 24px rgb(16 24 40 / 0.12);
    color-scheme: light dark;
  }
  @media (prefers-color-scheme: dark) {
    :host {
      --bg: #0f1117;
      --surface: #171a22;
      --surface-2: #1e222c;
      --surface-hover: #20242f;
      --selected: #262c44;
      --border: #2a2f3b;
      --text: #e8eaf0;
      --text-2: #a7adbb;
      --text-3: #959cab;
      --accent: #7c86ff;
      --accent-strong: #98a0ff;
      --on-accent: #0f1117;
      --bubble-own: #5b66e0;
      --bubble-own-text: #ffffff;
      --bubble-other: #232733;
      --bubble-other-text: #e8eaf0;
      --danger: #ff7a8f;
      --danger-bg: #3a1d24;
      --success: #4cc38a;
      --focus: #98a0ff;
      --mention-bg: #4a3a08;
      --mention-text: #ffe8a3;
      --mention-edge: #e0a91a;
      --shadow-1: 0 1px 2px rgb(0 0 0 / 0.4);
      --shadow-2: 0 8px 24px rgb(0 0 0 / 0.5);
    }
  }
`;

/** Pieces every component shares: box model, visible focus, buttons, hidden-but-spoken text. */
export const base = css`
  :host {
    font-family: var(--font);
    color: var(--text);
    box-sizing: border-box;
  }
  *, *::before, *::after { box-sizing: inherit; }
  :focus-visible {
    outline: 2px solid var(--focus);
    outline-offset: 2px;
  }
  button { font: inherit; color: inherit; cursor: pointer; }
  .btn {
    display: inline-flex; align-items: center; justify-content: center; gap: var(--space-2);
    border: 1px solid transparent; border-radius: var(--radius-s);
    padding: 9px 16px; font-weight: 600; font-size: 14px;
    background: var(--accent); color: var(--on-accent);
    transition: background 120ms ease, box-shadow 120ms ease;
  }
  .btn:hover { background: var(--accent-strong); }
  .btn[disabled] { opacity: 0.55; cursor: not-allowed; }
  .btn.ghost { background: transparent; color: var(--text-2); border-color: var(--border); }
  .btn.ghost:hover { background: var(--surface-hover); color: var(--text); }
  .icon-btn {
    display: inline-grid; place-items: center; width: 36px; height: 36px; border-radius: 50%;
    border: none; background: transparent; color: var(--text-2);
  }
  .icon-btn:hover { background: var(--surface-hover); color: var(--text); }
  @media (prefers-reduced-motion: reduce) { .btn { transition: none; } }
  .sr-only {
    position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px;
    overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0;
  }
`;
