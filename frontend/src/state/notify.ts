/**
 * Browser notifications: asked for only after the user clicks the control that says so (never
 * on load), and shown only while the page is hidden, for direct messages and mentions of the
 * user, never for a muted conversation or one's own message.
 */
import type { Conversation, Message } from "@parley/contract";

export type Permission = NotificationPermission | "unsupported";

export const permission = (): Permission =>
  typeof Notification === "undefined" ? "unsupported" : Notification.permission;

/** Asks the browser (it shows its own prompt); resolves with the answer. */
export async function askPermission(): Promise<Permission> {
  if (typeof Notification === "undefined") return "unsupported";
  return Notification.requestPermission();
}

/** Whether a new message deserves a notification (the rule, pure and unit-tested). */
export function deservesNotification(
  c: Pick<Conversation, "kind" | "muted">,
  m: Pick<Message, "senderId" | "mentions" | "kind">,
  me: string,
  hidden: boolean,
): boolean {
  if (!hidden || c.muted || m.senderId === me || m.kind !== "text") return false;
  return c.kind === "direct" || m.mentions.includes(me);
}

/** Shows one notification; a click brings the page forward and opens the conversation. */
export function show(title: string, body: string, tag: string, open: () => void): void {
  if (permission() !== "granted") return;
  try {
    const n = new Notification(title, { body: body.slice(0, 200), tag });
    n.onclick = () => {
      window.focus();
      open();
      n.close();
    };
  } catch {
    // some browsers only notify from a service worker: the title still counts unread
  }
}
