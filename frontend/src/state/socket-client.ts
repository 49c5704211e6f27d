/**
 * The `/ws` connection: authenticated by the session cookie at the upgrade, reconnecting with
 * exponential backoff and full jitter. Close 1012 (replica restarting) comes back promptly;
 * the backoff starts over only once a connection has stayed open STABLE_AFTER_MS after `ready`;
 * 4001 (session expired) and 4003 (signed out) stop and report it; 4004 (too many sockets
 * for one user) backs off like any other close, so the tab gets in once another one closes. What was missed meanwhile is the store's job,
 * triggered by every `ready` frame.
 *
 * The status it reports is the socket's real state, so the badge can follow it within a second
 * or two: "online" only from `ready` on an open socket; "offline" while the browser says so;
 * back from offline it reconnects rather than trust a socket that lived through the outage;
 * while nothing answers it tries about once a second (backoff.ts, unreachablePlan), and an
 * answered api request (`reachable()`) makes it try at once.
 */
import type { ClientFrame, ServerFrame } from "@parley/contract/frames";
import { CLOSE_CODES } from "@parley/contract/limits";
import { reconnectPlan, STABLE_AFTER_MS, unreachablePlan } from "./backoff.ts";

export type ConnectionStatus = "connecting" | "online" | "reconnecting" | "offline";

export type SocketHandlers = {
  onFrame(frame: ServerFrame): void;
  onStatus(status: ConnectionStatus): void;
  onSessionExpired(): void;
  /** the session was signed out (4003: here, in another tab, or everywhere) */
  onSignedOut(): void;
  /** several attempts in a row never got `ready`: maybe the session is gone (upgrade refused with 401) */
  onRepeatedFailure(): void;
};

/** an answered request makes a waiting reconnect happen now, unless it is due this soon anyway */
const REACHABLE_SOON_MS = 250;

export class SocketClient {
  private ws: WebSocket | null = null;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** when the waiting reconnect is due (ms since the epoch), 0 when none waits */
  private dueAt = 0;
  private stableTimer: ReturnType<typeof setTimeout> | undefined;
  private running = false;
  /** since when there has been no ready socket (0 while there is one) */
  private downSince = 0;
  /** the socket whose `ready` came: "online" means this one is the current one */
  private readyWs: WebSocket | null = null;
  /** the browser went offline while the current socket was open */
  private wentOffline = false;
  status: ConnectionStatus = "offline";

  constructor(
    private readonly handlers: SocketHandlers,
    private readonly url = () => `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/ws`,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    addEventListener("online", this.onOnline);
    addEventListener("offline", this.onOffline);
    this.connect();
  }

  stop(): void {
    this.running = false;
    this.wait(null);
    clearTimeout(this.stableTimer);
    removeEventListener("online", this.onOnline);
    removeEventListener("offline", this.onOffline);
    const ws = this.ws;
    this.ws = null;
    ws?.close(CLOSE_CODES.normal);
    this.setStatus("offline");
  }

  /** Sends when connected; typing frames are worthless later, so nothing is queued. */
  send(frame: ClientFrame): boolean {
    if (this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /** The server answered a request: if a reconnect is waiting, the way is open now. */
  reachable(): void {
    if (this.running && this.ws === null && this.dueAt - Date.now() > REACHABLE_SOON_MS) this.connect();
  }

  private connect(): void {
    this.wait(null);
    if (!this.running) return;
    this.setStatus(navigator.onLine === false ? "offline" : this.attempt === 0 ? "connecting" : "reconnecting");
    this.downSince ||= Date.now();
    this.wentOffline = false;
    let opened = false;
    const ws = new WebSocket(this.url());
    this.ws = ws;
    ws.onopen = () => {
      opened = true;
    };
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;
      let frame: ServerFrame;
      try {
        frame = JSON.parse(String(ev.data)) as ServerFrame;
      } catch {
        return;
      }
      if (frame.type === "ready") {
        this.readyWs = ws;
        this.downSince = 0;
        clearTimeout(this.stableTimer);
        this.stableTimer = setTimeout(() => {
          if (this.ws === ws) this.attempt = 0;
        }, STABLE_AFTER_MS);
        this.setStatus(navigator.onLine === false ? "offline" : "online");
      }
      this.handlers.onFrame(frame);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws || !this.running) return;
      this.ws = null;
      clearTimeout(this.stableTimer);
      if (ev.code === CLOSE_CODES.sessionExpired) {
        this.stop();
        this.handlers.onSessionExpired();
        return;
      }
      if (ev.code === CLOSE_CODES.signedOut) {
        this.stop();
        this.handlers.onSignedOut();
        return;
      }
      this.downSince ||= Date.now();
      // nothing answered (or the upgrade was refused): try again soon; a connection that
      // opened and then closed backs off, so a server in trouble is not hammered
      const plan = opened
        ? reconnectPlan(ev.code, this.attempt)
        : unreachablePlan(this.attempt, Date.now() - this.downSince);
      this.attempt = plan.attempt;
      if (this.readyWs !== ws && this.attempt >= 3 && this.attempt % 3 === 0) this.handlers.onRepeatedFailure();
      this.setStatus(navigator.onLine === false ? "offline" : "reconnecting");
      this.wait(plan.delay);
    };
  }

  /** Schedules the next attempt in `ms`, or cancels the one waiting (null). */
  private wait(ms: number | null) {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.dueAt = 0;
    if (ms === null) return;
    this.dueAt = Date.now() + ms;
    this.timer = setTimeout(() => this.connect(), ms);
  }

  private onOnline = () => {
    if (!this.running) return;
    const ws = this.ws;
    if (ws && ws === this.readyWs && ws.readyState === WebSocket.OPEN && !this.wentOffline) {
      this.setStatus("online");
      return;
    }
    if (ws && ws.readyState === WebSocket.CONNECTING) return;
    // a socket that lived through an outage may be dead without knowing it: a new one proves the way
    if (ws) {
      this.ws = null;
      ws.close(CLOSE_CODES.normal);
    }
    this.attempt = 0;
    this.connect();
    if (this.status === "connecting") this.setStatus("reconnecting");
  };

  private onOffline = () => {
    if (this.ws?.readyState === WebSocket.OPEN) this.wentOffline = true;
    this.setStatus("offline");
  };

  private setStatus(s: ConnectionStatus) {
    if (s === this.status) return;
    this.status = s;
    this.handlers.onStatus(s);
  }
}
