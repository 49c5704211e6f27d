/**
 * The api as the browser sees it (same origin, `/api/*`, session cookie). Every shape comes
 * from the contract as a type only: importing `@parley/contract` at runtime would pull the
 * schema library into the bundle.
 */
import type {
  AuthResponse,
  ChangesPage,
  Conversation,
  ConversationResponse,
  ConversationsResponse,
  CreateConversationBody,
  Credentials,
  ErrorBody,
  Id,
  MeResponse,
  Message,
  MessageResponse,
  MessagesPage,
  User,
  UsersResponse,
  UserSummary,
} from "@parley/contract";
import { BACKGROUND_READ_HEADER, type ErrorCode } from "@parley/contract/limits";

/** A failed call. `status` 0 means the request never got an answer (offline, replica down). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode | "network",
    message: string,
    readonly details?: unknown,
    /** seconds to wait, from Retry-After on 429 */
    readonly retryAfter?: number,
  ) {
    super(message);
  }
  /** Worth trying again later without changing anything. */
  get transient(): boolean {
    return this.status === 0 || this.status === 502 || this.status === 503 || this.status === 504;
  }
}

let observer: ((answered: boolean) => void) | null = null;

/**
 * Hears of every request whether the server answered it at all: an answer proves the way to the
 * server is open again, which the socket uses to reconnect at once instead of at its next try.
 */
export function observeRequests(fn: ((answered: boolean) => void) | null): void {
  observer = fn;
}

/** Options of one request: `background`, a read that may wait behind others (a catch-up). */
type CallInit = { keepalive?: boolean; background?: boolean };

async function call<T>(method: string, path: string, body?: unknown, init: CallInit = {}): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`/api${path}`, {
      method,
      credentials: "same-origin",
      keepalive: init.keepalive,
      // every request that changes something says it is JSON, body or not: the api refuses any
      // other (what a cross-site form could send)
      headers:
        method === "GET"
          ? { accept: "application/json", ...(init.background ? { [BACKGROUND_READ_HEADER]: "1" } : {}) }
          : { "content-type": "application/json", accept: "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    observer?.(false);
    throw new ApiError(0, "network", "No connection to the server.");
  }
  // a gateway's 502-504 is not the server answering
  observer?.(res.status < 502 || res.status > 504);
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const err = (json as ErrorBody | undefined)?.error;
    const retry = Number(res.headers.get("retry-after"));
    throw new ApiError(
      res.status,
      err?.code ?? (res.status >= 500 ? "unavailable" : "validation_failed"),
      err?.message ?? `The server answered ${res.status}.`,
      err?.details,
      Number.isFinite(retry) && retry > 0 ? retry : undefined,
    );
  }
  return json as T;
}

const qs = (params: Record<string, string | number | undefined>) => {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : "";
};

export const api = {
  register: (c: Credentials) => call<AuthResponse>("POST", "/auth/register", c),
  login: (c: Credentials) => call<AuthResponse>("POST", "/auth/login", c),
  logout: () => call<void>("POST", "/auth/logout"),
  logoutEverywhere: () => call<void>("POST", "/auth/logout-everywhere"),
  me: async (): Promise<User> => (await call<MeResponse>("GET", "/me")).user,
  users: async (q: string, limit = 20): Promise<UserSummary[]> =>
    (await call<UsersResponse>("GET", `/users${qs({ q, limit })}`)).users,
  /**
   * One page of the list, newest activity first; `nextCursor` asks for the next (null: no more).
   * `background`: a catch-up, which lets reads someone waits for go first (a replica's users all
   * reconnecting at once).
   */
  conversations: (
    cursor?: string,
    limit?: number,
    opts: { background?: boolean } = {},
  ): Promise<ConversationsResponse> =>
    call<ConversationsResponse>("GET", `/conversations${qs({ cursor, limit })}`, undefined, opts),
  conversation: async (id: Id): Promise<Conversation> =>
    (await call<ConversationResponse>("GET", `/conversations/${id}`)).conversation,
  createConversation: async (body: CreateConversationBody): Promise<Conversation> =>
    (await call<ConversationResponse>("POST", "/conversations", body)).conversation,
  messages: (id: Id, page: { after?: number; before?: number; limit?: number }, opts: { background?: boolean } = {}) =>
    call<MessagesPage>("GET", `/conversations/${id}/messages${qs(page)}`, undefined, opts),
  send: async (id: Id, body: string, clientId: string, replyTo?: number): Promise<Message> =>
    (await call<MessageResponse>("POST", `/conversations/${id}/messages`, { body, clientId, replyTo })).message,
  /** keepalive: a read mark sent as the page goes away still reaches the server */
  read: (id: Id, seq: number) => call<void>("POST", `/conversations/${id}/read`, { seq }, { keepalive: true }),
  edit: async (id: Id, seq: number, body: string): Promise<Message> =>
    (await call<MessageResponse>("PATCH", `/conversations/${id}/messages/${seq}`, { body })).message,
  remove: async (id: Id, seq: number): Promise<Message> =>
    (await call<MessageResponse>("DELETE", `/conversations/${id}/messages/${seq}`)).message,
  react: async (id: Id, seq: number, emoji: string, on: boolean): Promise<Message> =>
    (await call<MessageResponse>("PUT", `/conversations/${id}/messages/${seq}/reactions`, { emoji, on })).message,
  changes: (id: Id, since: number, limit?: number, opts: { background?: boolean } = {}) =>
    call<ChangesPage>("GET", `/conversations/${id}/changes${qs({ since, limit })}`, undefined, opts),
  rename: async (id: Id, title: string): Promise<Conversation> =>
    (await call<ConversationResponse>("PATCH", `/conversations/${id}`, { title })).conversation,
  addMembers: async (id: Id, memberIds: Id[]): Promise<Conversation> =>
    (await call<ConversationResponse>("POST", `/conversations/${id}/members`, { memberIds })).conversation,
  leave: (id: Id) => call<void>("POST", `/conversations/${id}/leave`),
  mute: async (id: Id, muted: boolean): Promise<Conversation> =>
    (await call<ConversationResponse>("PUT", `/conversations/${id}/mute`, { muted })).conversation,
};

/**
 * Field errors from a 422 answer, whatever way the api lists them: `[{path|field, message}]`,
 * `{field: message}` or `{fields: …}`. Keys are field names ("username", "password").
 */
export function fieldErrors(details: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  const add = (key: unknown, msg: unknown) => {
    if (typeof key !== "string" || typeof msg !== "string") return;
    const name = key.replace(/^\//, "").split(/[/.]/).filter(Boolean).at(-1);
    if (name && !out[name]) out[name] = msg;
  };
  const walk = (d: unknown) => {
    if (Array.isArray(d)) {
      for (const e of d)
        if (e && typeof e === "object") {
          const o = e as Record<string, unknown>;
          add(o.path ?? o.field ?? o.property ?? o.name, o.message ?? o.summary);
        }
    } else if (d && typeof d === "object") {
      const o = d as Record<string, unknown>;
      if ("fields" in o) return walk(o.fields);
      if ("errors" in o) return walk(o.errors);
      for (const [k, v] of Object.entries(o)) add(k, Array.isArray(v) ? v[0] : v);
    }
  };
  walk(details);
  return out;
}
