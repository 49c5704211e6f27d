/**
 * This replica's users: their sockets, their conversations and contacts, and delivery of Redis
 * events to them. A user's channel is followed while the user has a socket here; a contact's
 * presence channel while some local user shares a conversation with them.
 */
import {
  channelOwner,
  type PresenceFrame,
  parseFanoutEvent,
  presenceChannel,
  type ServerFrame,
  userChannel,
} from "@parley/contract/frames";
import type { Logger } from "@parley/kit/log";
import type { RealtimeMetrics } from "../libs/metrics.ts";
import type { PresenceRegistry } from "../presence/registry.ts";
import { fetchMembership, MEMBERSHIP_RETRY_MS, type Membership, membersOf } from "./membership.ts";
import type { Session } from "./session.ts";
import type { ChannelSubscriptions } from "./subscriptions.ts";

type LocalUser = {
  id: string;
  sessions: Set<Session>;
  /** conversations known so far: the api's full list once `loaded`, plus those from frames */
  membership: Membership | null;
  /** conversation → the version of its member list that `membership` holds (a stale line must not undo a newer one) */
  revs: Map<string, number>;
  /** the full list was fetched from the api (frames alone never set this) */
  loaded: boolean;
  loading: Promise<void> | null;
  lastLoadAttempt: number;
  /** most recent token, only to ask the api for this user's conversations; never logged */
  token: string;
  contacts: Set<string>;
  /** settles once Redis confirmed the SUBSCRIBE to the user's channel */
  subscribed: Promise<void>;
};

export class LocalUsers {
  private readonly users = new Map<string, LocalUser>();
  /** contact id → local users who share a conversation with them */
  private readonly watchers = new Map<string, Set<string>>();
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
  ) {}

  ids(): Iterable<string> {
    return this.users.keys();
  }

  has(userId: string): boolean {
    return this.users.has(userId);
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
        revs: new Map(),
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
    for (const c of user.contacts) this.unwatch(c, user.id);
    user.contacts.clear();
    if (!this.stopped) void this.deps.presence.userLeft(user.id);
    return true;
  }

  /** Retries users whose conversations could not be loaded (api down at their socket's open). */
  repairMemberships(): void {
    for (const user of this.users.values()) if (!user.loaded) void this.ensureMembership(user, true);
  }

  /** The members of a conversation of a local user; undefined when the user is not in it (or not here). */
  async membersOf(userId: string, conversationId: string): Promise<string[] | undefined> {
    const user = this.users.get(userId);
    if (!user) return undefined;
    if (!user.membership?.has(conversationId)) await this.ensureMembership(user, true);
    return user.membership?.get(conversationId);
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

  /**
   * What a frame to a local user says about their conversations: a conversation they were added
   * to, or a group change (a system line lists the members after it; one who left is no longer
   * in it). Returns false for a frame the user must not get: typing in a conversation they are
   * not in (relayed by a replica that had not yet heard they left).
   */
  private follow(user: LocalUser, frame: ServerFrame): boolean {
    if (frame.type === "conversation") {
      const c = frame.conversation;
      this.setMembers(user, c.id, membersOf(c), c.stateRev);
    } else if (frame.type === "message" && frame.message.system) {
      const line = frame.message.system;
      this.setMembers(user, frame.message.conversationId, membersOf(line), line.rev);
    } else if (frame.type === "typing" && user.loaded && !user.membership?.has(frame.conversationId)) {
      this.deps.metrics.droppedFrames.inc({ type: "typing", reason: "not_member" });
      return false;
    }
    return true;
  }

  private setMembers(user: LocalUser, conversationId: string, members: string[], rev: number): void {
    if ((user.revs.get(conversationId) ?? -1) > rev) return;
    user.revs.set(conversationId, rev);
    user.membership ??= new Map();
    if (members.includes(user.id)) user.membership.set(conversationId, members);
    else user.membership.delete(conversationId);
    void this.updateContacts(user, true);
  }

  /** Closes every local socket with `code`; returns how many there were. */
  closeAll(code: number, reason: string): number {
    const open = [...this.users.values()].flatMap((u) => [...u.sessions]);
    for (const s of open) s.close(code, reason);
    return open.length;
  }

  /**
   * Shutdown begins: from now on departures are not announced one by one, because the caller
   * clears this replica's presence in one go. Returns the users here now.
   */
  stop(): string[] {
    this.stopped = true;
    return [...this.users.keys()];
  }

  private ensureMembership(user: LocalUser, announce: boolean): Promise<void> {
    if (user.loaded) return Promise.resolve();
    if (user.loading) return user.loading;
    if (Date.now() - user.lastLoadAttempt < MEMBERSHIP_RETRY_MS) return Promise.resolve();
    user.lastLoadAttempt = Date.now();
    user.loading = fetchMembership(this.deps.apiUrl, user.token)
      .then(async ({ membership, revs }) => {
        // What frames said meanwhile is as new as this answer or newer: it wins (a group left included).
        for (const [id, rev] of user.revs) {
          if (rev < (revs.get(id) ?? -1)) continue;
          const members = user.membership?.get(id);
          if (members) membership.set(id, members);
          else membership.delete(id);
          revs.set(id, rev);
        }
        user.membership = membership;
        user.revs = revs;
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
