/**
 * The `/ws` connection: authenticated by the session cookie at the upgrade, reconnecting with
 * exponential backoff and full jitter. Close 1012 (replica restarting) comes back promptly;
 * the backoff starts over only once a connection has stayed open STABLE_AFTER_MS after `ready`;
 * 4001 (session expired) stops and reports it. What was missed meanwhile is the store's job,
 * triggered by every `ready` frame.
 */
import type { ClientFrame, ServerFrame } from "@parley/contract/frames";
import { CLOSE_CODES } from "@parley/contract/limits";
import { reconnectPlan, STABLE_AFTER_MS } from "./backoff.ts";

export type ConnectionStatus = "connecting" | "online" | "reconnecting" | "offline";

export type SocketHandlers = {
  onFrame(frame: ServerFrame): void;
  onStatus(status: ConnectionStatus): void;
  onSessionExpired(): void;
  /** several attempts in a row never got `ready`: maybe the session is gone (upgrade refused with 401) */
  onRepeatedFailure(): void;
};

export class SocketClient {
  private ws: WebSocket | null = null;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stableTimer: ReturnType<typeof setTimeout> | undefined;
  private running = false;
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
    clearTimeout(this.timer);
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

  private connect(): void {
    clearTimeout(this.timer);
    if (!this.running) return;
    this.setStatus(this.attempt === 0 ? "connecting" : "reconnecting");
    let ready = false;
    const ws = new WebSocket(this.url());
    this.ws = ws;
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;
      let frame: ServerFrame;
      try {
        frame = JSON.parse(String(ev.data)) as ServerFrame;
      } catch {
        return;
      }
      if (frame.type === "ready") {
        ready = true;
        clearTimeout(this.stableTimer);
        this.stableTimer = setTimeout(() => {
          if (this.ws === ws) this.attempt = 0;
        }, STABLE_AFTER_MS);
        this.setStatus("online");
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
      const plan = reconnectPlan(ev.code, this.attempt);
      this.attempt = plan.attempt;
      if (!ready && this.attempt >= 3 && this.attempt % 3 === 0) this.handlers.onRepeatedFailure();
      this.setStatus(navigator.onLine === false ? "offline" : "reconnecting");
      this.timer = setTimeout(() => this.connect(), plan.delay);
    };
  }

  private onOnline = () => {
    if (this.ws === null && this.running) {
      this.attempt = 0;
      this.connect();
    }
  };
  private onOffline = () => this.setStatus("offline");

  private setStatus(s: ConnectionStatus) {
    if (s === this.status) return;
    this.status = s;
    this.handlers.onStatus(s);
  }
}
