/**
 * The replica's local users: their sockets, their conversations and contacts, and delivery of
 * Redis events to them. A user's channel is followed while the user has a socket here; a
 * contact's presence channel while some local user shares a conversation with them.
 */
import type Redis from "ioredis";
import { presenceChannel, userChannel, type PresenceFrame } from "@parley/contract/frames";
import { TYPING_INTERVAL_MS } from "@parley/contract/limits";
import type { Logger } from "@parley/kit/log";
import type { RealtimeMetrics } from "../libs/metrics.ts";
import type { PresenceRegistry } from "../presence/registry.ts";
import type { Session } from "../socket/session.ts";
import { fetchMembership, membersOf, type Membership } from "../socket/membership.ts";
import { fanoutEvent, parseEvent, routeOf } from "./events.ts";
import type { ChannelSubscriptions } from "./subscriptions.ts";

type LocalUser = {
  id: string;
  sessions: Set<Session>;
  /** conversations known so far: the api's full list once `loaded`, plus those from frames */
  membership: Membership | null;
  /** the full list was fetched from the api (frames alone never set this) */
  loaded: boolean;
  loading: Promise<void> | null;
  lastLoadAttempt: number;
  /** most recent token, only to ask the api for this user's conversations; never logged */
  token: string;
  contacts: Set<string>;
  lastTyping: Map<string, number>;
  /** settles once Redis confirmed the SUBSCRIBE to the user's channel */
  subscribed: Promise<void>;
};

export type TypingResult = "ok" | "not_member" | "rate_limited";

const MEMBERSHIP_RETRY_MS = 5000;

export class Hub {
  private readonly users = new Map<string, LocalUser>();
  /** contact id → local users who share a conversation with them */
  private readonly watchers = new Map<string, Set<string>>();
  /** set at shutdown: presence is then cleared in one go, not per closing socket */
  stopping = false;

  constructor(
    private readonly deps: {
      apiUrl: string;
      commands: Redis;
      subscriptions: ChannelSubscriptions;
      presence: PresenceRegistry;
      metrics: RealtimeMetrics;
      log: Logger;
    },
  ) {}

  localUserIds(): Iterable<string> {
    return this.users.keys();
  }

  /** Every open session (for shutdown). */
  sessions(): Session[] {
    return [...this.users.values()].flatMap((u) => [...u.sessions]);
  }

  /**
   * A socket opened: follow the user's channel, send `ready` once Redis confirmed it (so every
   * event committed after `ready` reaches this socket), then the contacts' presence.
   */
  async join(session: Session, token: string): Promise<void> {
    const { subscriptions, presence, metrics } = this.deps;
    let user = this.users.get(session.userId);
    if (!user) {
      user = {
        id: session.userId,
        sessions: new Set(),
        membership: null,
        loaded: false,
        loading: null,
        lastLoadAttempt: 0,
        token,
        contacts: new Set(),
        lastTyping: new Map(),
        subscribed: Promise.resolve(),
      };
      this.users.set(user.id, user);
      metrics.connectedUsers.set(this.users.size);
      // Both issued before any await, so a quick close's "offline"/UNSUBSCRIBE is ordered after them.
      void presence.userArrived(user.id);
      user.subscribed = subscriptions.acquire(userChannel(user.id));
    }
    user.token = token;
    user.sessions.add(session);
    metrics.openSockets.inc();
    await user.subscribed;
    if (session.isClosed) return;
    session.ready({ type: "ready", userId: user.id });
    await this.ensureMembership(user, false);
    if (session.isClosed || this.users.get(user.id) !== user) return;
    await this.sendPresence([...user.contacts], [session]);
  }

  /** Retries users whose conversations could not be loaded (api down at their socket's open). */
  repairMemberships(): void {
    for (const user of this.users.values()) if (!user.loaded) void this.ensureMembership(user, true);
  }

  /** A socket closed: forget it; when it was the user's last here, stop following the user. */
  leave(session: Session): void {
    const user = this.users.get(session.userId);
    if (!user || !user.sessions.delete(session)) return;
    this.deps.metrics.openSockets.dec();
    if (user.sessions.size > 0) return;
    this.users.delete(user.id);
    this.deps.metrics.connectedUsers.set(this.users.size);
    this.deps.subscriptions.release(userChannel(user.id));
    for (const c of user.contacts) this.unwatch(c, user.id);
    user.contacts.clear();
    if (!this.stopping) void this.deps.presence.userLeft(user.id);
  }

  private ensureMembership(user: LocalUser, announce: boolean): Promise<void> {
    if (user.loaded) return Promise.resolve();
    if (user.loading) return user.loading;
    if (Date.now() - user.lastLoadAttempt < MEMBERSHIP_RETRY_MS) return Promise.resolve();
    user.lastLoadAttempt = Date.now();
    user.loading = fetchMembership(this.deps.apiUrl, user.token)
      .then(async (membership) => {
        // Conversations learnt from frames meanwhile are newer than this answer: keep them.
        for (const [id, members] of user.membership ?? []) membership.set(id, members);
        user.membership = membership;
        user.loaded = true;
        await this.updateContacts(user, announce);
      })
      .catch((err: Error) =>
        this.deps.log.warn({ userId: user.id, err: err.message }, "could not load the user's conversations"),
      )
      .finally(() => {
        user.loading = null;
      });
    return user.loading;
  }

  /** Recomputes the user's contacts; follows new ones and, if asked, tells the user their presence. */
  private async updateContacts(user: LocalUser, announce: boolean): Promise<void> {
    if (this.users.get(user.id) !== user) return;
    const next = new Set<string>();
    for (const members of user.membership?.values() ?? []) for (const m of members) if (m !== user.id) next.add(m);
    const added = [...next].filter((c) => !user.contacts.has(c));
    for (const c of user.contacts) if (!next.has(c)) this.unwatch(c, user.id);
    user.contacts = next;
    await Promise.all(added.map((c) => this.watch(c, user.id)));
    if (announce && added.length > 0) await this.sendPresence(added, [...user.sessions]);
  }

  private watch(contactId: string, localUserId: string): Promise<void> {
    let set = this.watchers.get(contactId);
    if (!set) this.watchers.set(contactId, (set = new Set()));
    if (set.has(localUserId)) return Promise.resolve();
    set.add(localUserId);
    return this.deps.subscriptions.acquire(presenceChannel(contactId));
  }

  private unwatch(contactId: string, localUserId: string): void {
    const set = this.watchers.get(contactId);
    if (!set?.delete(localUserId)) return;
    if (set.size === 0) this.watchers.delete(contactId);
    this.deps.subscriptions.release(presenceChannel(contactId));
  }

  private async sendPresence(contactIds: string[], sessions: Session[]): Promise<void> {
    if (contactIds.length === 0) return;
    const online = await this.deps.presence.snapshot(contactIds).catch((err: Error) => {
      this.deps.log.warn({ err: err.message }, "presence snapshot failed");
      return new Map<string, boolean>();
    });
    for (const [userId, isOnline] of online) {
      const frame: PresenceFrame = { type: "presence", userId, online: isOnline };
      const text = JSON.stringify(frame);
      for (const s of sessions) s.deliver("presence", text);
    }
  }

  /** One Redis pub/sub message: deliver it to the local sockets it is addressed to. */
  onRedisMessage(channel: string, raw: string): void {
    const route = routeOf(channel);
    const event = route && parseEvent(raw);
    if (!route || !event) {
      this.deps.log.warn({ channel }, "ignored a malformed event");
      return;
    }
    if (route.kind === "user") {
      const user = this.users.get(route.id);
      if (!user) return;
      if (event.frame.type === "conversation") {
        const c = event.frame.conversation;
        (user.membership ??= new Map()).set(c.id, membersOf(c));
        void this.updateContacts(user, true);
      }
      for (const s of user.sessions) s.deliver(event.frame.type, event.text, event.committedAt);
      return;
    }
    for (const localId of this.watchers.get(route.id) ?? []) {
      for (const s of this.users.get(localId)?.sessions ?? [])
        s.deliver(event.frame.type, event.text, event.committedAt);
    }
  }

  /**
   * A client says the user is typing: members only, and at most one per user and conversation
   * every TYPING_INTERVAL_MS/2 across all of the user's sockets here (a well-behaved client sends
   * one per TYPING_INTERVAL_MS). The excess is not relayed; the socket gets an error frame
   * `rate_limited`, which clients may ignore.
   */
  async typing(session: Session, conversationId: string): Promise<TypingResult> {
    const user = this.users.get(session.userId);
    if (!user) return "not_member";
    if (!user.membership?.has(conversationId)) await this.ensureMembership(user, true);
    const members = user.membership?.get(conversationId);
    if (!members) return "not_member";
    const now = Date.now();
    if (now - (user.lastTyping.get(conversationId) ?? 0) < TYPING_INTERVAL_MS / 2) return "rate_limited";
    user.lastTyping.set(conversationId, now);
    const payload = fanoutEvent({ type: "typing", conversationId, userId: user.id }, now);
    const pipe = this.deps.commands.pipeline();
    for (const m of members) if (m !== user.id) pipe.publish(userChannel(m), payload);
    await pipe.exec().catch((err: Error) => this.deps.log.warn({ err: err.message }, "typing publish failed"));
    return "ok";
  }
}
