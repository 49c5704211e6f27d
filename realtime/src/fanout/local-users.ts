/**
 * This replica's users: their sockets, their contacts, and delivery of Redis events to them. A
 * user's channel is followed while the user has a socket here; a contact's presence channel
 * while some local user has them as a contact.
 *
 * What a socket costs in api work is small and bounded: a user's contacts (for presence) are one
 * page of their most recent conversations, asked at their first socket and kept for
 * CONTACTS_KEEP_MS after their last one closes, so a client that reconnects over and over asks
 * once; membership is asked per conversation when a typing frame needs it (membership.ts).
 */
import {
  channelOwner,
  type PresenceFrame,
  parseFanoutEvent,
  presenceChannel,
  type ServerFrame,
  userChannel,
} from "@parley/contract/frames";
import { CLOSE_CODES } from "@parley/contract/limits";
import type { Logger } from "@parley/kit/log";
import type { RealtimeMetrics } from "../libs/metrics.ts";
import type { PresenceRegistry } from "../presence/registry.ts";
import { type Lookup, MEMBERSHIP_RETRY_MS, Memberships, membersOf, recentContacts } from "./membership.ts";
import type { Session } from "./session.ts";
import type { ChannelSubscriptions } from "./subscriptions.ts";

/** How long a user's contacts are kept after their last socket here closed. */
export const CONTACTS_KEEP_MS = 30_000;
const KEPT_MAX = 20_000;

type LocalUser = {
  id: string;
  sessions: Set<Session>;
  /** the contacts were fetched from the api (or kept from a moment ago) */
  loaded: boolean;
  loading: Promise<void> | null;
  lastLoadAttempt: number;
  /** most recent token, only to ask the api on the user's behalf; never logged */
  token: string;
  contacts: Set<string>;
  /** settles once Redis confirmed the SUBSCRIBE to the user's channel */
  subscribed: Promise<void>;
};

export class LocalUsers {
  private readonly users = new Map<string, LocalUser>();
  /** contact id → local users who have them as a contact */
  private readonly watchers = new Map<string, Set<string>>();
  /** contacts of users who left a moment ago: user id → contacts, until when */
  private readonly kept = new Map<string, { contacts: Set<string>; until: number }>();
  readonly memberships: Memberships;
  /** after stop(): departures are no longer announced one by one */
  private stopped = false;

  constructor(
    private readonly deps: {
      apiUrl: string;
      subscriptions: ChannelSubscriptions;
      presence: PresenceRegistry;
      metrics: RealtimeMetrics;
      log: Logger;
    },
  ) {
    this.memberships = new Memberships({ apiUrl: deps.apiUrl, log: deps.log });
  }

  ids(): Iterable<string> {
    return this.users.keys();
  }

  has(userId: string): boolean {
    return this.users.has(userId);
  }

  /** The user's sockets on this replica. */
  sessionsOf(userId: string): ReadonlySet<Session> {
    return this.users.get(userId)?.sessions ?? new Set();
  }

  /**
   * A socket opened: follow the user's channel, send `ready` once Redis confirmed it (so every
   * event committed after `ready` reaches this socket), then the contacts' presence.
   */
  async join(session: Session, token: string): Promise<void> {
    const { subscriptions, presence, metrics } = this.deps;
    let user = this.users.get(session.userId);
    if (!user) {
      const kept = this.kept.get(session.userId);
      this.kept.delete(session.userId);
      const fresh = kept !== undefined && kept.until > Date.now();
      user = {
        id: session.userId,
        sessions: new Set(),
        loaded: false,
        loading: null,
        lastLoadAttempt: 0,
        token,
        contacts: new Set(),
        subscribed: Promise.resolve(),
      };
      this.users.set(user.id, user);
      metrics.connectedUsers.set(this.users.size);
      // Both issued before any await, so a quick close's "offline"/UNSUBSCRIBE is ordered after them.
      void presence.userArrived(user.id);
      user.subscribed = subscriptions.acquire(userChannel(user.id));
      if (fresh) {
        user.loaded = true;
        await this.setContacts(user, kept.contacts, false);
      }
    }
    user.token = token;
    user.sessions.add(session);
    metrics.openSockets.inc();
    await user.subscribed;
    if (session.isClosed) return;
    session.ready({ type: "ready", userId: user.id });
    await this.ensureContacts(user, false);
    if (session.isClosed || this.users.get(user.id) !== user) return;
    await this.sendPresence([...user.contacts], [session]);
  }

  /**
   * A socket closed: forget it; when it was the user's last here, stop following the user.
   * Returns true when the user has no socket here any more.
   */
  leave(session: Session): boolean {
    const user = this.users.get(session.userId);
    if (!user?.sessions.delete(session)) return false;
    this.deps.metrics.openSockets.dec();
    if (user.sessions.size > 0) return false;
    this.users.delete(user.id);
    this.deps.metrics.connectedUsers.set(this.users.size);
    this.deps.subscriptions.release(userChannel(user.id));
    this.memberships.release(user.id);
    if (user.loaded) this.keep(user.id, user.contacts);
    for (const c of user.contacts) this.unwatch(c, user.id);
    user.contacts = new Set();
    if (!this.stopped) void this.deps.presence.userLeft(user.id);
    return true;
  }

  /** Retries users whose contacts could not be loaded (api down at their socket's open). */
  repairMemberships(): void {
    for (const user of this.users.values()) if (!user.loaded) void this.ensureContacts(user, true);
  }

  /** The members of a conversation if a local user is one (asked of the api when not known). */
  async membersOf(userId: string, conversationId: string): Promise<Lookup> {
    const user = this.users.get(userId);
    if (!user) return "not_member";
    const found = await this.memberships.lookup(userId, user.token, conversationId);
    if (found === "unauthorized") this.closeUser(userId, CLOSE_CODES.sessionExpired, "session expired");
    return found;
  }

  /** One Redis pub/sub message: deliver it to the local sockets it is addressed to. */
  deliver(channel: string, raw: string): void {
    const owner = channelOwner(channel);
    const event = owner && parseFanoutEvent(raw);
    if (!owner || !event) {
      this.deps.log.warn({ channel }, "ignored a malformed event");
      return;
    }
    // serialized once, written as-is to every local socket
    const text = JSON.stringify(event.frame);
    if (owner.kind === "user") {
      const user = this.users.get(owner.id);
      if (!user || !this.follow(user, event.frame)) return;
      for (const s of user.sessions) s.deliver(event.frame.type, text, event.committedAt);
      return;
    }
    for (const localId of this.watchers.get(owner.id) ?? []) {
      for (const s of this.users.get(localId)?.sessions ?? []) s.deliver(event.frame.type, text, event.committedAt);
    }
  }

  /** Closes every socket of one user here. */
  closeUser(userId: string, code: number, reason: string): void {
    for (const s of [...(this.users.get(userId)?.sessions ?? [])]) s.close(code, reason);
  }

  /**
   * What a frame to a local user says about their conversations: a conversation they were added
   * to, or a group change (a system line lists the members after it; one who left is no longer
   * in it). Returns false for a frame the user must not get: typing in a conversation they are
   * known not to be in (relayed by a replica that had not yet heard they left).
   */
  private follow(user: LocalUser, frame: ServerFrame): boolean {
    if (frame.type === "conversation") {
      const c = frame.conversation;
      this.learnMembers(user, c.id, membersOf(c), c.stateRev);
    } else if (frame.type === "message" && frame.message.system) {
      const line = frame.message.system;
      this.learnMembers(user, frame.message.conversationId, membersOf(line), line.rev);
    } else if (frame.type === "typing" && this.memberships.knows(frame.conversationId, user.id) === false) {
      this.deps.metrics.droppedFrames.inc({ type: "typing", reason: "not_member" });
      return false;
    }
    return true;
  }

  /** Members of a conversation as a frame told them; people new to the user become contacts. */
  private learnMembers(user: LocalUser, conversationId: string, members: string[], rev: number): void {
    this.memberships.learn(conversationId, members, rev);
    if (!members.includes(user.id)) return;
    const added = members.filter((m) => m !== user.id && !user.contacts.has(m));
    if (added.length > 0) void this.setContacts(user, new Set([...user.contacts, ...added]), true);
  }

  /** Closes every local socket with `code`; returns how many there were. */
  closeAll(code: number, reason: string): number {
    const open = [...this.users.values()].flatMap((u) => [...u.sessions]);
    for (const s of open) s.close(code, reason);
    return open.length;
  }

  /**
   * Channels that may have missed messages (on a Redis Cluster, those of a shard that came back),
   * followed again: the sockets of users whose own channel it is close with 1012, so their
   * clients catch up as after any reconnect; the watchers of a presence channel get a fresh
   * snapshot of that contact. Returns how many sockets were closed.
   */
  resync(channels: readonly string[]): number {
    let closed = 0;
    const contacts: string[] = [];
    for (const channel of channels) {
      const owner = channelOwner(channel);
      if (owner?.kind === "user") {
        const open = [...(this.users.get(owner.id)?.sessions ?? [])];
        for (const s of open) s.close(CLOSE_CODES.serviceRestart, "resync");
        closed += open.length;
      } else if (owner?.kind === "presence" && this.watchers.has(owner.id)) contacts.push(owner.id);
    }
    if (contacts.length > 0) void this.announcePresence(contacts);
    return closed;
  }

  /** The presence of these contacts now, to every local user watching them. */
  private async announcePresence(contactIds: string[]): Promise<void> {
    const online = await this.deps.presence.snapshot(contactIds).catch((err: Error) => {
      this.deps.log.warn({ err: err.message }, "presence snapshot failed");
      return new Map<string, boolean>();
    });
    for (const [userId, isOnline] of online) {
      const text = JSON.stringify({ type: "presence", userId, online: isOnline } satisfies PresenceFrame);
      for (const watcher of this.watchers.get(userId) ?? [])
        for (const s of this.users.get(watcher)?.sessions ?? []) s.deliver("presence", text);
    }
  }

  /**
   * Shutdown begins: from now on departures are not announced one by one, because the caller
   * clears this replica's presence in one go. Returns the users here now.
   */
  stop(): string[] {
    this.stopped = true;
    return [...this.users.keys()];
  }

  private ensureContacts(user: LocalUser, announce: boolean): Promise<void> {
    if (user.loaded) return Promise.resolve();
    if (user.loading) return user.loading;
    if (Date.now() - user.lastLoadAttempt < MEMBERSHIP_RETRY_MS) return Promise.resolve();
    user.lastLoadAttempt = Date.now();
    user.loading = recentContacts(this.deps.apiUrl, user.id, user.token, this.memberships)
      .then(async (contacts) => {
        if (contacts === "unauthorized") {
          // the api does not know this session (an unknown user, a revoked session): no socket
          this.closeUser(user.id, CLOSE_CODES.sessionExpired, "session expired");
          return;
        }
        user.loaded = true;
        // contacts learnt from frames meanwhile are newer than this answer: keep them
        await this.setContacts(user, new Set([...contacts, ...user.contacts]), announce);
      })
      .catch((err: Error) =>
        this.deps.log.warn({ userId: user.id, err: err.message }, "could not load the user's contacts"),
      )
      .finally(() => {
        user.loading = null;
      });
    return user.loading;
  }

  /** Sets the user's contacts; follows new ones and, if asked, tells the user their presence. */
  private async setContacts(user: LocalUser, next: Set<string>, announce: boolean): Promise<void> {
    if (this.users.get(user.id) !== user) return;
    next.delete(user.id);
    const added = [...next].filter((c) => !user.contacts.has(c));
    for (const c of user.contacts) if (!next.has(c)) this.unwatch(c, user.id);
    user.contacts = next;
    await Promise.all(added.map((c) => this.watch(c, user.id)));
    if (announce && added.length > 0) await this.sendPresence(added, [...user.sessions]);
  }

  private keep(userId: string, contacts: Set<string>): void {
    const now = Date.now();
    if (this.kept.size >= KEPT_MAX) for (const [id, k] of this.kept) if (k.until <= now) this.kept.delete(id);
    if (this.kept.size >= KEPT_MAX) this.kept.clear();
    this.kept.set(userId, { contacts, until: now + CONTACTS_KEEP_MS });
  }

  private watch(contactId: string, localUserId: string): Promise<void> {
    let set = this.watchers.get(contactId);
    if (!set) {
      set = new Set();
      this.watchers.set(contactId, set);
    }
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
      const text = JSON.stringify({ type: "presence", userId, online: isOnline } satisfies PresenceFrame);
      for (const s of sessions) s.deliver("presence", text);
    }
  }
}
