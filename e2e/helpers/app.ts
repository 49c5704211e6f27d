/**
 * What a person does in Parley, as page actions on accessible roles and labels, plus the
 * waits the scenarios need (scripts/lib/ports.ts waitFor: generous bounds, never a fixed sleep
 * deciding pass/fail).
 */
import type { BrowserContext, Page } from "playwright";
import { waitFor } from "../../scripts/lib/ports.ts";
import type {
  AuthResponse,
  Conversation,
  ConversationResponse,
  ConversationsResponse,
  Message,
  MessageResponse,
  MessagesPage,
  UsersResponse,
} from "@parley/contract";

export const uniqueName = (base: string) => `${base}_${Math.random().toString(36).slice(2, 8)}`;
export const PASSWORD = "correct horse battery";

export async function register(page: Page, origin: string, username: string): Promise<void> {
  await page.goto(origin);
  await page.getByRole("tab", { name: "Create account" }).click();
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByText(`Signed in as ${username}`).waitFor();
}

/** Opens "New chat", picks `names` (one: direct; several: group with `title`) and starts it. */
export async function startChat(page: Page, names: string[], title?: string): Promise<void> {
  await page.getByRole("button", { name: "New chat" }).first().click();
  const dialog = page.getByRole("dialog", { name: "New chat" });
  for (const name of names) {
    await dialog.getByLabel("Find people by username").fill(name);
    await dialog
      .getByRole("list", { name: "People" })
      .getByRole("button", { name: new RegExp(`^${name}\\b`) })
      .click();
  }
  if (title) await dialog.getByLabel("Group name (optional)").fill(title);
  await dialog.getByRole("button", { name: names.length > 1 ? "Create group" : "Start chat" }).click();
  await dialog.waitFor({ state: "hidden" });
}

export async function openChat(page: Page, name: string | RegExp): Promise<void> {
  await page.getByRole("list", { name: "Conversations" }).getByRole("button", { name }).click();
}

export async function sendFromComposer(page: Page, text: string): Promise<void> {
  const box = page.getByRole("textbox", { name: "Message" });
  await box.fill(text);
  await box.press("Enter");
}

/** The bodies the open thread shows, in screen order (confirmed and pending). */
export function shownBodies(page: Page): Promise<string[]> {
  return page
    .getByRole("region", { name: "Messages" })
    .locator("message-bubble")
    .evaluateAll((els) => els.map((e) => (e as HTMLElement & { body: string }).body));
}

export async function waitForBodies(page: Page, expected: string[], timeoutMs = 15_000): Promise<string[]> {
  return waitFor(
    `thread to show ${JSON.stringify(expected)}`,
    async () => {
      const got = await shownBodies(page);
      return JSON.stringify(got) === JSON.stringify(expected) ? got : false;
    },
    timeoutMs,
  ).catch(async (e) => {
    throw new Error(`${(e as Error).message}; shown: ${JSON.stringify(await shownBodies(page))}`);
  });
}

/** What a message's own controls are called (message-actions): "React to …", "Edit your message, …". */
export type MessageAction = "React" | "Reply" | "Edit" | "Delete";

/** The message showing `text` in the open thread. */
export const bubble = (page: Page, text: string) =>
  page.getByRole("region", { name: "Messages" }).locator("message-bubble", { hasText: text });

/** Points at a message (its controls show on hover) and presses one of them. */
export async function messageAction(page: Page, text: string, action: MessageAction): Promise<void> {
  const b = bubble(page, text);
  await b.hover();
  await b.getByRole("button", { name: new RegExp(`^${action} `) }).click();
}

/** What the open thread shows, message by message: enough to compare two screens exactly. */
export type ShownItem = { text: string; edited?: boolean; deleted?: boolean; reactions?: string; quote?: string };

export function shownThread(page: Page): Promise<ShownItem[]> {
  return page
    .getByRole("region", { name: "Messages" })
    .locator("message-bubble, system-line")
    .evaluateAll((els) =>
      els.map((e) => {
        const el = e as HTMLElement & {
          body?: string;
          text?: string;
          edited?: boolean;
          deleted?: boolean;
          reactions?: { emoji: string; userIds: string[] }[];
          quote?: { text: string; deleted: boolean } | null;
        };
        if (e.tagName === "SYSTEM-LINE") return { text: `— ${el.text}` };
        return {
          text: el.body ?? "",
          edited: el.edited,
          deleted: el.deleted,
          reactions: (el.reactions ?? []).map((r) => `${r.emoji}${r.userIds.length}`).join(" "),
          quote: el.quote ? (el.quote.deleted ? "(deleted)" : el.quote.text) : "",
        };
      }),
    );
}

/** The same person as a signed-in browser, talking to the api directly with its session cookie. */
export async function apiUserOf(ctx: BrowserContext, apiUrl: string): Promise<ApiUser> {
  const token = (await ctx.cookies()).find((c) => c.name === "session")?.value;
  if (!token) throw new Error("this browser is not signed in");
  const res = await fetch(`${apiUrl}/api/me`, { headers: { authorization: `Bearer ${token}` } });
  const { user } = (await res.json()) as { user: { id: string; username: string } };
  return new ApiUser(apiUrl, token, user.id, user.username);
}

/** A user who talks to the api directly (bearer token), as another device or a script would. */
export class ApiUser {
  constructor(
    readonly apiUrl: string,
    readonly token: string,
    readonly id: string,
    readonly username: string,
  ) {}

  static async register(apiUrl: string, username: string): Promise<ApiUser> {
    const res = await fetch(`${apiUrl}/api/auth/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username, password: PASSWORD }),
    });
    if (res.status !== 201) throw new Error(`register ${username}: ${res.status} ${await res.text()}`);
    const body = (await res.json()) as AuthResponse;
    return new ApiUser(apiUrl, body.token, body.user.id, body.user.username);
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.apiUrl}/api${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return (res.status === 204 ? undefined : await res.json()) as T;
  }

  async userId(username: string): Promise<string> {
    const { users } = await this.call<UsersResponse>("GET", `/users?q=${username}`);
    const u = users.find((x) => x.username === username);
    if (!u) throw new Error(`no user ${username}`);
    return u.id;
  }
  async createConversation(memberIds: string[], title?: string): Promise<Conversation> {
    return (await this.call<ConversationResponse>("POST", "/conversations", { memberIds, ...(title ? { title } : {}) }))
      .conversation;
  }
  async createDirect(otherId: string): Promise<Conversation> {
    return (await this.call<ConversationResponse>("POST", "/conversations", { memberIds: [otherId] })).conversation;
  }
  async conversations(): Promise<Conversation[]> {
    return (await this.call<ConversationsResponse>("GET", "/conversations")).conversations;
  }
  async send(conversationId: string, body: string): Promise<Message> {
    return (
      await this.call<MessageResponse>("POST", `/conversations/${conversationId}/messages`, {
        body,
        clientId: `e2e_${crypto.randomUUID()}`,
      })
    ).message;
  }
  async reply(conversationId: string, body: string, replyTo: number): Promise<Message> {
    return (
      await this.call<MessageResponse>("POST", `/conversations/${conversationId}/messages`, {
        body,
        clientId: `e2e_${crypto.randomUUID()}`,
        replyTo,
      })
    ).message;
  }
  async edit(conversationId: string, seq: number, body: string): Promise<Message> {
    return (await this.call<MessageResponse>("PATCH", `/conversations/${conversationId}/messages/${seq}`, { body }))
      .message;
  }
  async remove(conversationId: string, seq: number): Promise<Message> {
    return (await this.call<MessageResponse>("DELETE", `/conversations/${conversationId}/messages/${seq}`)).message;
  }
  async react(conversationId: string, seq: number, emoji: string, on = true): Promise<Message> {
    return (
      await this.call<MessageResponse>("PUT", `/conversations/${conversationId}/messages/${seq}/reactions`, {
        emoji,
        on,
      })
    ).message;
  }
  async rename(conversationId: string, title: string): Promise<Conversation> {
    return (await this.call<ConversationResponse>("PATCH", `/conversations/${conversationId}`, { title })).conversation;
  }
  async read(conversationId: string, seq: number): Promise<void> {
    await this.call<void>("POST", `/conversations/${conversationId}/read`, { seq });
  }
  async messages(conversationId: string): Promise<Message[]> {
    const out: Message[] = [];
    for (let after = 0; ; ) {
      const page = await this.call<MessagesPage>(
        "GET",
        `/conversations/${conversationId}/messages?after=${after}&limit=100`,
      );
      out.push(...page.messages);
      if (!page.hasMore || !page.messages.length) return out;
      after = page.messages.at(-1)!.seq;
    }
  }
}
