/**
 * The signed-in life of the client: who the user is (from the session cookie), signing in,
 * out and expiring, and the socket that lives exactly as long as the session does.
 */
import type { Credentials, User } from "@parley/contract";
import type { ClientFrame, ServerFrame } from "@parley/contract/frames";
import { api, ApiError, observeRequests } from "./api-client.ts";
import { clearPending } from "./saved-pending.ts";
import { type ConnectionStatus, SocketClient } from "./socket-client.ts";
import type { StoreState } from "./store-state.ts";

const EXPIRED = "Your session expired. Please sign in again.";
const SIGNED_OUT = "You were signed out. Please sign in again.";

/**
 * Whether this browser had a session when it last knew. The session cookie is HttpOnly, so the
 * page cannot see it; asking `/api/me` without one is answered 401, which the browser logs as
 * a console error on every signed-out load. So the page asks only when it signed in here and
 * has not signed out since. (Unreadable storage: ask, as before.)
 */
const HINT = "parley:signed-in";
const sessionHint = {
  get(): boolean {
    try {
      return localStorage.getItem(HINT) === "1";
    } catch {
      return true;
    }
  },
  set(on: boolean): void {
    try {
      if (on) localStorage.setItem(HINT, "1");
      else localStorage.removeItem(HINT);
    } catch {
      // storage disabled: every load asks /api/me
    }
  },
};

export type SessionHooks = {
  onFrame(f: ServerFrame): void;
  /** the socket's state changed (the store's catch-up rule needs to know how long it was away) */
  onStatus(s: ConnectionStatus): void;
  /** the user is known: start what a session needs (saved messages, the list) */
  started(user: User): void;
  /** the session ended: stop what it started */
  ended(): void;
};

export class SessionKeeper {
  private socket: SocketClient | null = null;

  constructor(
    private readonly st: StoreState,
    private readonly hooks: SessionHooks,
  ) {}

  async init(): Promise<void> {
    if (!sessionHint.get()) {
      this.st.session = { status: "signed-out" };
      this.st.changed();
      return;
    }
    try {
      this.signedIn(await api.me());
    } catch (e) {
      const unreachable = e instanceof ApiError && e.status === 0;
      // a definite "no session" (401) ends the hint; no answer at all proves nothing
      if (!unreachable) sessionHint.set(false);
      this.st.session = unreachable
        ? { status: "signed-out", reason: "The server cannot be reached." }
        : { status: "signed-out" };
      this.st.changed();
    }
  }

  async register(c: Credentials): Promise<void> {
    this.signedIn((await api.register(c)).user);
  }

  async login(c: Credentials): Promise<void> {
    this.signedIn((await api.login(c)).user);
  }

  /**
   * Signs out here (or, `everywhere`, on every device): the server revokes the session, and
   * nothing of the user stays in this browser, unsent messages included (whoever uses it next
   * must not find them, or send them).
   */
  async logout({ everywhere = false } = {}): Promise<void> {
    const me = this.st.me;
    await (everywhere ? api.logoutEverywhere() : api.logout()).catch(() => undefined);
    if (me) clearPending(me.id);
    this.signedOut();
  }

  /** A request failed: a 401 means the session is gone. */
  failed = (e: unknown): void => {
    if (e instanceof ApiError && e.status === 401) this.signedOut(EXPIRED);
  };

  /** Sends a frame when the socket is open; false when it is not. */
  send(frame: ClientFrame): boolean {
    return this.socket?.send(frame) ?? false;
  }

  private signedIn(user: User) {
    sessionHint.set(true);
    const st = this.st;
    st.session = { status: "signed-in", user };
    st.changed();
    this.socket = new SocketClient({
      onFrame: (f) => this.hooks.onFrame(f),
      onStatus: (s) => {
        st.connection = s;
        this.hooks.onStatus(s);
        st.changed();
      },
      onSessionExpired: () => this.signedOut(EXPIRED),
      onSignedOut: () => {
        // signed out on purpose, from another tab or device: like signing out here
        const me = this.st.me;
        if (me) clearPending(me.id);
        this.signedOut(SIGNED_OUT);
      },
      onRepeatedFailure: () => void this.checkSession(),
    });
    // an answered request while the socket waits to reconnect: the server is back, try now
    observeRequests((answered) => answered && this.socket?.reachable());
    this.socket.start();
    this.hooks.started(user);
  }

  private signedOut(reason?: string) {
    sessionHint.set(false);
    observeRequests(null);
    this.socket?.stop();
    this.socket = null;
    this.hooks.ended();
    this.st.session = { status: "signed-out", reason };
    this.st.clearUserData();
  }

  private async checkSession() {
    try {
      await api.me();
    } catch (e) {
      this.failed(e);
    }
  }
}
