/**
 * This replica's users: their sockets, their contacts, and delivery of Redis events to them.
 * Events reach a user here through the replica's own channel on one Redis server (the publisher
 * routes each event to the replicas its recipients' routes name, kit/route), or through
 * the user's channel on a Redis Cluster, followed while the user has a socket here. A contact's
 * presence channel is followed while some local user has them as a contact.
 *
 * What a socket costs in api work is small and bounded: a user's contacts (for presence) are one
 * page of their most recent conversations, asked at their first socket and kept for
 * CONTACTS_KEEP_MS after their last one closes, so a client that reconnects over and over asks
 * once; membership is asked per conversation when a typing frame needs it (membership.ts).
 *
 * What a socket costs in memory is kept small (measured per idle socket, bench/results): a
 * user's sockets and contacts are arrays (a user has one or two sockets and a few dozen
 * contacts; a Set costs several times as much), and every id is one string shared by all the
 * structures that name it (`Watch.id`), not a copy per api answer.
 */
import {
  channelOwner,
  type FanoutDelivery,
  type PresenceFrame,
  presenceChannel,
  readFanoutEvent,
  readRoutedEvent,
  type ServerFrame,
  userChannel,
} from "@parley/contract/frames";
import { CLOSE_CODES } from "@parley/contract/limits";
import type { Marks } from "@parley/contract/marks";
import { Gate } from "@parley/kit/gate";
import type { Logger } from "@parley/kit/log";
import type { RealtimeMetrics } from "../libs/metrics.ts";
import type { PresenceRegistry } from "../presence/registry.ts";
import type { ApiTokens } from "./api-tokens.ts";
import { type Lookup, MEMBERSHIP_RETRY_MS, Memberships, membersOf, recentContacts } from "./membership.ts";
import type { Openings } from "./openings.ts";
import type { Outgoing } from "./outbox.ts";
import type { Session } from "./session.ts";
import type { ChannelSubscriptions } from "./subscriptions.ts";

/** How long a user's contacts are kept after their last socket here closed. */
export const CONTACTS_KEEP_MS = 30_000;
/**
 * Contact lists asked of the api at once. When a replica dies its users all reconnect here
 * together: their lists wait their turn (their presence arrives a little later) rather than
 * taking the api from everyone else. `ready` never waits for them.
 */
export const CONTACT_LOADS_AT_ONCE = 4;
const KEPT_MAX = 20_000;

type LocalUser = {
  id: string;
  sessions: Session[];
  /** the contacts were fetched from the api (or kept from a moment ago) */
  loaded: boolean;
  loading: Promise<void> | null;
  lastLoadAttempt: number;
  /** ids of the people whose presence the user is told (interned: each a `Watch.id`) */
  contacts: readonly string[];
  /**
   * settles once events for the user reach this replica (their route naming it, written with
   * their presence entry, or on a cluster the SUBSCRIBE to their channel, confirmed by Redis);
   * null once it did
   */
  arriving: Promise<void> | null;
};

/** One contact followed for presence: the id every structure shares, and the local users watching. */
type Watch = { id: string; watchers: string[] };

const NO_SESSIONS: readonly Session[] = Object.freeze([]);

/** A contact's presence as a frame, serialized once for every socket told. */
const presenceOutgoing = (userId: string, online: boolean): Outgoing => ({
  type: "presence",
  text: JSON.stringify({ type: "presence", userId, online } satisfies PresenceFrame),
});

export class LocalUsers {
  private readonly users = new Map<string, LocalUser>();
  /** contact id → who they are and which local users have them as a contact */
  private readonly watches = new Map<string, Watch>();
  /** contacts of users who left a moment ago: user id → contacts, until when */
  private readonly kept = new Map<string, { contacts: readonly string[]; until: number }>();
  readonly memberships: Memberships;
  private readonly contactLoads = new Gate(CONTACT_LOADS_AT_ONCE);
  /** after stop(): departures are no longer announced one by one */
  private stopped = false;
  /** settles once the replica's channel is followed (on one server; null on a cluster) */
  private readonly routeFollowed: Promise<void> | null;

  constructor(
    private readonly deps: {
      apiUrl: string;
      /** this replica's channel (contract replicaChannel) on one Redis server; null on a cluster */
      routeChannel: string | null;
      subscriptions: ChannelSubscriptions;
      presence: PresenceRegistry;
      metrics: RealtimeMetrics;
      /** signs the tokens the api is asked with on a user's behalf */
      tokens: ApiTokens;
      /** what the user was last sent, read once their events reach this replica (kit/marks); null: unknown */
      marks: (userId: string) => Promise<Marks | null>;
      /** sockets opening on this replica: contact lists wait for a quiet moment (openings.ts) */
      openings: Openings;
      log: Logger;
    },
  ) {
    this.memberships = new Memberships({ apiUrl: deps.apiUrl, log: deps.log });
    this.routeFollowed = deps.routeChannel ? deps.subscriptions.acquire(deps.routeChannel) : null;
  }

  ids(): Iterable<string> {
    return this.users.keys();
  }

  has(userId: string): boolean {
    return this.users.has(userId);
  }

  /**
   * Whether this replica follows `channel`: its own channel (one server), the channel of a user
   * here (a cluster), or the presence of their contact.
   */
  follows(channel: string): boolean {
    if (channel === this.deps.routeChannel) return true;
    const owner = channelOwner(channel);
    if (!owner) return false;
    if (owner.kind === "presence") return this.watches.has(owner.id);
    return this.deps.routeChannel === null && this.users.has(owner.id);
  }

  /** The user's sockets on this replica. */
  sessionsOf(userId: string): readonly Session[] {
    return this.users.get(userId)?.sessions ?? NO_SESSIONS;
  }

  /**
   * A socket opened: write the user's presence entry and route (and on a cluster follow their
   * channel), send `ready` once Redis confirmed it (so every event committed after `ready`
   * reaches this socket) with the user's marks read after that (contract/marks), then, once no
   * socket has been opening here for a moment, the contacts' presence.
   */
  async join(session: Session): Promise<void> {
    const opened = this.deps.openings.begin();
    let user: LocalUser;
    try {
      user = await this.becomeReady(session);
    } finally {
      opened();
    }
    if (session.isClosed) return;
    // the contacts can wait for the sockets still opening here to get their `ready` (openings.ts)
    await this.deps.openings.quiet();
    if (session.isClosed || this.users.get(user.id) !== user) return;
    await this.ensureContacts(user, false);
    if (session.isClosed || this.users.get(user.id) !== user) return;
    await this.sendPresence(user.contacts, [session]);
  }

  /** Writes the entry and route (or subscribes), then sends `ready` with the marks; returns the user. */
  private async becomeReady(session: Session): Promise<LocalUser> {
    const { subscriptions, presence, metrics } = this.deps;
    let user = this.users.get(session.userId);
    if (!user) {
      const kept = this.kept.get(session.userId);
      this.kept.delete(session.userId);
      const fresh = kept !== undefined && kept.until > Date.now();
      user = {
        id: session.userId,
        sessions: [],
        loaded: false,
        loading: null,
        lastLoadAttempt: 0,
        contacts: [],
        arriving: null,
      };
      this.users.set(user.id, user);
      this.countChannels();
      // Both issued before any await, so a quick close's "offline"/UNSUBSCRIBE is ordered after them.
      const entry = presence.userArrived(user.id);
      const reached = this.routeFollowed
        ? Promise.all([entry, this.routeFollowed])
        : subscriptions.acquire(userChannel(user.id));
      const created = user;
      const arriving: Promise<void> = reached.then(() => {
        if (created.arriving === arriving) created.arriving = null;
      });
      created.arriving = arriving;
      if (fresh) {
        user.loaded = true;
        await this.setContacts(user, kept.contacts, false);
      }
    }
    user.sessions.push(session);
    metrics.openSockets.inc();
    if (user.arriving) await user.arriving;
    if (session.isClosed) return user;
    // read now, not before: an event routed elsewhere had its mark written before the route changed
    const marks = await this.deps.marks(user.id);
    if (session.isClosed) return user;
    session.ready({ type: "ready", userId: user.id, marks });
    return user;
  }

  /**
   * A socket closed: forget it; when it was the user's last here, stop following the user.
   * Returns true when the user has no socket here any more.
   */
  leave(session: Session): boolean {
    const user = this.users.get(session.userId);
    const at = user?.sessions.indexOf(session) ?? -1;
    if (!user || at < 0) return false;
    user.sessions.splice(at, 1);
    this.deps.metrics.openSockets.dec();
    if (user.sessions.length > 0) return false;
    this.users.delete(user.id);
    this.countChannels();
    if (this.deps.routeChannel === null) this.deps.subscriptions.release(userChannel(user.id));
    this.memberships.release(user.id);
    if (user.loaded) this.keep(user.id, user.contacts);
    for (const c of user.contacts) this.unwatch(c, user.id);
    user.contacts = [];
    if (!this.stopped) void this.deps.presence.userLeft(user.id);
    return true;
  }

  /** Retries users whose contacts could not be loaded (api down at their socket's open). */
  repairMemberships(): void {
    // never asked yet: their socket's join asks once the replica is quiet (not now, in a burst)
    for (const user of this.users.values())
      if (!user.loaded && user.lastLoadAttempt > 0) void this.ensureContacts(user, true);
  }

  /** The members of a conversation if a local user is one (asked of the api when not known). */
  async membersOf(userId: string, conversationId: string): Promise<Lookup> {
    const user = this.users.get(userId);
    if (!user) return "not_member";
    const found = await this.memberships.lookup(userId, conversationId, () => this.tokenFor(user));
    if (found === "unauthorized") this.closeUser(userId, CLOSE_CODES.sessionExpired, "session expired");
    return found;
  }

  /** One Redis pub/sub message: deliver it to the local sockets it is addressed to. */
  deliver(channel: string, raw: string): void {
    if (channel === this.deps.routeChannel) {
      this.deliverRouted(raw);
      return;
    }
    const owner = channelOwner(channel);
    const event = owner && readFanoutEvent(raw);
    if (!owner || !event) {
      this.deps.log.warn({ channel }, "ignored a malformed event");
      return;
    }
    if (owner.kind === "user") {
      this.deliverTo(owner.id, event);
      return;
    }
    // serialized once, by the publisher: its text is written as-is to every local socket
    for (const localId of this.watches.get(owner.id)?.watchers ?? []) {
      for (const s of this.users.get(localId)?.sessions ?? []) s.deliver(event);
    }
  }

  /** A message on the replica's channel: one event, read once, for the local users it names. */
  private deliverRouted(raw: string): void {
    const routed = readRoutedEvent(raw);
    const event = routed && readFanoutEvent(routed.event);
    if (!routed || !event) {
      this.deps.log.warn({ channel: this.deps.routeChannel }, "ignored a malformed event");
      return;
    }
    for (const userId of routed.userIds) this.deliverTo(userId, event);
  }

  private deliverTo(userId: string, event: FanoutDelivery): void {
    const user = this.users.get(userId);
    if (!user || (event.frame && !this.follow(user, event.frame))) return;
    // serialized once, by the publisher: its text is written as-is to every local socket
    for (const s of user.sessions) s.deliver(event);
  }

  /**
   * The heartbeat found these users' presence entries of this replica gone (a sweeper removed
   * them while the replica stalled past the TTL): on one server, events routed meanwhile did not
   * come here, so their sockets close with 1012 and their clients catch up as after any
   * reconnect. Users whose entry was still being written are left alone. Returns the sockets closed.
   */
  entriesLost(userIds: readonly string[]): number {
    if (this.deps.routeChannel === null) return 0;
    let closed = 0;
    for (const userId of userIds) {
      const user = this.users.get(userId);
      if (!user || user.arriving) continue;
      closed += user.sessions.length;
      this.closeUser(userId, CLOSE_CODES.serviceRestart, "resync");
    }
    return closed;
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
    const added = members.filter((m) => m !== user.id && !user.contacts.includes(m));
    if (added.length > 0) void this.setContacts(user, [...user.contacts, ...added], true);
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
      } else if (owner?.kind === "presence" && this.watches.has(owner.id)) contacts.push(owner.id);
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
      const frame = presenceOutgoing(userId, isOnline);
      for (const watcher of this.watches.get(userId)?.watchers ?? [])
        for (const s of this.users.get(watcher)?.sessions ?? []) s.deliver(frame);
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
    user.loading = this.contactLoads
      .run(() =>
        // gone while waiting its turn: nothing to ask
        this.users.get(user.id) === user
          ? this.tokenFor(user).then((token) => recentContacts(this.deps.apiUrl, user.id, token, this.memberships))
          : Promise.resolve(null),
      )
      .then(async (contacts) => {
        if (contacts === null) return;
        if (contacts === "unauthorized") {
          // the api does not know this session (an unknown user, a revoked session): no socket
          this.closeUser(user.id, CLOSE_CODES.sessionExpired, "session expired");
          return;
        }
        user.loaded = true;
        // contacts learnt from frames meanwhile are newer than this answer: keep them
        await this.setContacts(user, [...contacts, ...user.contacts], announce);
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
  private async setContacts(user: LocalUser, wanted: Iterable<string>, announce: boolean): Promise<void> {
    if (this.users.get(user.id) !== user) return;
    const next = new Set(wanted);
    next.delete(user.id);
    const had = new Set(user.contacts);
    for (const c of had) if (!next.has(c)) this.unwatch(c, user.id);
    const added: string[] = [];
    const contacts: string[] = [];
    const subscribing: Promise<void>[] = [];
    for (const c of next) {
      const watch = this.watchOf(c);
      contacts.push(watch.id);
      if (had.has(c)) continue;
      added.push(watch.id);
      watch.watchers.push(user.id);
      // the contact's presence channel is followed while anyone here watches them
      if (watch.watchers.length === 1) subscribing.push(this.deps.subscriptions.acquire(presenceChannel(watch.id)));
    }
    user.contacts = contacts;
    await Promise.all(subscribing);
    if (announce && added.length > 0) await this.sendPresence(added, [...user.sessions]);
  }

  /** A token to ask the api with for the user: for their most recent socket's session. */
  private tokenFor(user: LocalUser): Promise<string> {
    const latest = user.sessions.at(-1);
    if (!latest) return Promise.reject(new Error("the user has no socket here"));
    return this.deps.tokens.forSession(latest);
  }

  /** Users here and the channels followed for them (the replica's, or one per user on a cluster; one per contact watched). */
  private countChannels(): void {
    this.deps.metrics.connectedUsers.set(this.users.size);
    const own = this.deps.routeChannel === null ? this.users.size : 1;
    this.deps.metrics.subscribedChannels.set(own + this.watches.size);
  }

  private keep(userId: string, contacts: readonly string[]): void {
    const now = Date.now();
    if (this.kept.size >= KEPT_MAX) for (const [id, k] of this.kept) if (k.until <= now) this.kept.delete(id);
    if (this.kept.size >= KEPT_MAX) this.kept.clear();
    this.kept.set(userId, { contacts, until: now + CONTACTS_KEEP_MS });
  }

  /** The Watch of a contact, created (without watchers) when new: its `id` is the shared string. */
  private watchOf(contactId: string): Watch {
    let watch = this.watches.get(contactId);
    if (!watch) {
      watch = { id: contactId, watchers: [] };
      this.watches.set(contactId, watch);
      this.countChannels();
    }
    return watch;
  }

  private unwatch(contactId: string, localUserId: string): void {
    const watch = this.watches.get(contactId);
    const at = watch?.watchers.indexOf(localUserId) ?? -1;
    if (!watch || at < 0) return;
    watch.watchers.splice(at, 1);
    if (watch.watchers.length > 0) return;
    this.watches.delete(contactId);
    this.countChannels();
    this.deps.subscriptions.release(presenceChannel(contactId));
  }

  private async sendPresence(contactIds: readonly string[], sessions: readonly Session[]): Promise<void> {
    if (contactIds.length === 0) return;
    const online = await this.deps.presence.snapshot(contactIds).catch((err: Error) => {
      this.deps.log.warn({ err: err.message }, "presence snapshot failed");
      return new Map<string, boolean>();
    });
    for (const [userId, isOnline] of online) {
      const frame = presenceOutgoing(userId, isOnline);
      for (const s of sessions) s.deliver(frame);
    }
  }
}
