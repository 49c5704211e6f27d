/**
 * A message body cut into plain text and @mentions of members, so a bubble can mark them
 * without ever rendering the body as HTML. Names are matched as the api matches them
 * (case-insensitive, a sentence's full stop left out).
 */
export type BodyPart = { text: string; mention?: { me: boolean } };

export function mentionParts(body: string, memberNames: readonly string[], myName: string | undefined): BodyPart[] {
  const names = new Set(memberNames.map((n) => n.toLowerCase()));
  const me = myName?.toLowerCase();
  const parts: BodyPart[] = [];
  let at = 0;
  for (const m of body.matchAll(/(^|[^A-Za-z0-9_.@-])@([A-Za-z0-9_.-]{3,32})/g)) {
    const raw = m[2]!;
    const name = names.has(raw.toLowerCase()) ? raw : raw.replace(/[.-]+$/, "");
    if (!names.has(name.toLowerCase())) continue;
    const start = m.index! + m[1]!.length;
    if (start > at) parts.push({ text: body.slice(at, start) });
    parts.push({ text: `@${name}`, mention: { me: name.toLowerCase() === me } });
    at = start + 1 + name.length;
  }
  if (at < body.length) parts.push({ text: body.slice(at) });
  return parts;
}

/** The `@prefix` being typed right before the caret, or null when the caret is not in one. */
export function typedMention(text: string, caret: number): { prefix: string; start: number } | null {
  const m = /(^|\s)@([A-Za-z0-9_.-]{0,32})$/.exec(text.slice(0, caret));
  return m ? { prefix: m[2]!, start: caret - m[2]!.length - 1 } : null;
}
