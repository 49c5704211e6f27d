import { LitElement, css, html, nothing, svg } from "lit";
import { customElement, property } from "lit/decorators.js";

/**
 * A stable colour per user id, so the same person always has the same one. Ids made in the same
 * second share most characters, so the hash is FNV-1a with a final mix, and the hue comes from
 * a palette of well-separated ones. Each hue has its own lightness: yellows and greens must be
 * darker than blues for white initials, or the name as text on the light page, to read at
 * 4.5:1 (WCAG AA): 5:1 on white, 4.6:1 on the page's light grey.
 */
const PALETTE: readonly (readonly [hue: number, lightness: number])[] = [
  [4, 46],
  [24, 41],
  [38, 36],
  [145, 32],
  [165, 32],
  [190, 35],
  [210, 44],
  [232, 46],
  [258, 46],
  [282, 46],
  [305, 46],
  [330, 46],
];
function paletteOf(id: string): readonly [number, number] {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return PALETTE[(h >>> 0) % PALETTE.length] ?? [232, 46];
}
export const hueOf = (id: string): number => paletteOf(id)[0];
/** the person's colour as `hsl()` that white text reads on (and that reads as text on white) */
export function colourOf(id: string, saturation = 52): string {
  const [hue, lightness] = paletteOf(id);
  return `hsl(${hue} ${saturation}% ${lightness}%)`;
}

export const initials = (name: string) =>
  name
    .split(/[\s._-]+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((p) => p[0]!.toUpperCase())
    .join("") || "?";

const GROUP_GLYPH = (size: number) =>
  svg`<svg width=${size} height=${size} viewBox="0 0 24 24" fill="currentColor" aria-hidden="true"><path d="M9 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8zm7 0a3 3 0 1 0 0-6 3 3 0 0 0 0 6zM9 13c-3.3 0-7 1.7-7 4v2h14v-2c0-2.3-3.7-4-7-4zm7 0c-.5 0-1 0-1.5.1 1.5 1 2.5 2.3 2.5 3.9v2h5v-2c0-2.2-3.1-4-6-4z"/></svg>`;

/** Round avatar with the initials of a name on a colour derived from the user id; optional presence dot. */
@customElement("user-avatar")
export class UserAvatar extends LitElement {
  @property() name = "";
  @property({ attribute: "user-id" }) userId = "";
  @property({ type: Number }) size = 40;
  /** undefined: no presence shown */
  @property({ type: Boolean }) online?: boolean;
  @property({ type: Boolean }) group = false;

  static override styles = css`
    :host { display: inline-block; position: relative; flex: none; }
    .face {
      display: grid; place-items: center; border-radius: 50%;
      color: #fff; font-weight: 600; letter-spacing: 0.02em; user-select: none;
    }
    .dot {
      position: absolute; right: -1px; bottom: -1px; width: 30%; height: 30%;
      border-radius: 50%; border: 2px solid var(--surface, #fff); background: var(--text-3, #999);
    }
    .dot.on { background: var(--success, #1f9d55); }
  `;

  override render() {
    const [hue, lightness] = paletteOf(this.userId || this.name);
    const bg = this.group
      ? `linear-gradient(135deg, hsl(${hue} 55% ${lightness}%), hsl(${hue} 60% ${lightness - 8}%))`
      : colourOf(this.userId || this.name);
    const s = this.size;
    return html`<div class="face" aria-hidden="true"
        style="width:${s}px;height:${s}px;font-size:${Math.round(s * 0.38)}px;background:${bg}">${
          // a group shows people, never initials: a group titled like a person must not look like one
          this.group ? GROUP_GLYPH(Math.round(s * 0.55)) : initials(this.name)
        }</div>
      ${
        this.online === undefined
          ? nothing
          : html`<span class="dot ${this.online ? "on" : ""}" role="img" aria-label=${this.online ? "online" : "offline"}></span>`
      }`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "user-avatar": UserAvatar;
  }
}
