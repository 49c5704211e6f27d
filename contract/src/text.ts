/**
 * Rules about text that more than one part enforces the same way: how deep JSON may nest, what
 * counts as a visible message, and what a group title may carry. Plain code with no runtime
 * dependency, so the browser bundle may use it too.
 */

/**
 * Whether JSON text nests arrays and objects at most `max` deep, decided by one scan before it
 * is parsed: a parser and the validators after it recurse once per level, and 10,000 levels
 * overflow the stack (a bare 500 instead of the contract's 422). Brackets inside strings do not
 * count. Malformed text is not judged here; the parser refuses it.
 */
export function jsonDepthWithin(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return false;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return true;
}

/**
 * Characters that show nothing: whitespace, format characters (zero-width spaces and joiners,
 * direction marks, the byte order mark) and the blank letters that render as empty space.
 */
const INVISIBLE = /[\s\p{Cf}\u115F\u1160\u3164\uFFA0\u2800]/gu;

/** Whether a message body shows anything at all (a body of zero-width characters does not). */
export const hasVisibleText = (text: string): boolean => text.replace(INVISIBLE, "").length > 0;

/**
 * Bidirectional controls (embeddings, overrides, isolates, marks) and control characters: in a
 * title they can reverse or hide what follows, so a group could read as something it is not.
 * Zero-width spaces go too. Joiners stay: emoji sequences and several scripts need them.
 */
const TITLE_STRIP = /[\p{Cc}\u061C\u200B\u200E\u200F\u202A-\u202E\u2060\u2066-\u2069\uFEFF]/gu;

/** A group title as stored and shown: the characters above removed, spaces collapsed; null if nothing is left. */
export function cleanTitle(title: string | undefined | null): string | null {
  if (!title) return null;
  const clean = title.replace(TITLE_STRIP, "").replace(/\s+/g, " ").trim();
  return hasVisibleText(clean) ? clean : null;
}
