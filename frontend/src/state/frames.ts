/**
 * What the socket says, applied to the state: `ready` starts the catch-up unless its marks say
 * nothing was missed (contract/marks: each event's mark is noted as it comes), a live message joins
 * its thread (and a gap triggers a catch-up), a change of a message replaces it (and a gap in
 * revs triggers the changes' catch-up), reads, typing and presence go to the live signals. A
 * message the user should hear of while the page is hidden becomes a notification.
 */
import type { Change, Message } from "@parley/contract";
import type { ServerFrame } from "@parley/contract/frames";
import { MarkBook } from "@parley/contract/marks";
import { api } from "./api-client.ts";
import { applyRead } from "./conversations.ts";
import { deservesNotification, show } from "./notify.ts";
import { nameOf, senderName, systemText } from "./selectors.ts";
import type { ConnectionStatus } from "./socket-client.ts";
import type { StoreState } from "./store-state.ts";
import type { Sync } from "./sync.ts";
import { applyChanges, confirmMessage, gapAfter, isGap } from "./thread.ts";

const LIVE_TICK_MS = 10_000;

export class FrameHandler {
  private marks = new MarkBook();

  constructor(
    private readonly st: StoreState,
    private readonly sync: Sync,
    /** sends what is still waiting in the outbox */
    private readonly resend: () => void,
    /** opens a conversation (a notification was clicked) */
    private readonly open: (id: string) => void,
  ) {}

  /** while the socket is ready: tells the marks it still is (see MarkBook: a sleeping laptop's timers stop) */
  private liveTicks: ReturnType<typeof setInterval> | undefined;

  /** A new session (or none): what the last one saw says nothing about it. */
  reset(): void {
    this.marks = new MarkBook();
  }

  onStatus(s: ConnectionStatus): void {
    clearInterval(this.liveTicks);
    this.liveTicks = undefined;
    if (s !== "online") {
      this.marks.down();
      return;
    }
    this.liveTicks = setInterval(() => this.marks.alive(Date.now()), LIVE_TICK_MS);
  }

  onFrame(f: ServerFrame): void {
    const st = this.st;
    if ("mark" in f) this.marks.seen(f.mark);
    switch (f.type) {
      case "ready": {
        // After every (re)connect: fetch what was missed (unless the marks say nothing was), then
        // send what is still waiting.
        const token = this.marks.ready(f.marks, Date.now());
        if (token !== null) void this.catchUp(token);
        this.resend();
        break;
      }
      case "message":
        this.onMessage(f.message);
        break;
      case "change":
        this.onChange(f.change);
        break;
      case "conversation":
        st.putConversation(f.conversation);
        break;
      case "read":
        if (f.userId === st.me?.id) {
          st.conversations = st.conversations.map((c) => (c.id === f.conversationId ? applyRead(c, f.seq) : c));
          st.changed();
        } else st.live.onOthersRead(f);
        break;
      case "typing":
        if (f.userId !== st.me?.id) st.live.onTyping(f);
        break;
      case "presence":
        st.live.onPresence(f);
        break;
      case "error":
        console.warn("parley: server said", f.code, f.message);
        break;
    }
  }

  /**
   * In the background: when a replica dies all its users do this at once, and the server serves
   * reads someone is waiting for first. Once every request was answered, the marks of the
   * `ready` that asked for it are what this client holds.
   */
  private async catchUp(token: number): Promise<void> {
    const st = this.st;
    const done = await Promise.all([
      this.sync.loadConversations({ background: true }),
      ...[...st.threads.keys()]
        .filter((id) => st.thread(id).loaded)
        .map((id) => this.sync.catchUpAfterReconnect(id, { background: true })),
    ]);
    if (done.every(Boolean)) this.marks.caughtUp(token);
  }

  private onMessage(m: Message): void {
    const st = this.st;
    const known = st.conversation(m.conversationId);
    if (!known) {
      // A conversation we have not seen yet (just added): its summary includes this message.
      void api.conversation(m.conversationId).then(
        (c) => st.putConversation(c),
        () => undefined,
      );
    }
    const t = st.threads.get(m.conversationId);
    if (t?.loaded) {
      const gap = isGap(t.messages, m.seq);
      const next = confirmMessage(t, m);
      st.setThread(m.conversationId, next);
      if (gap || gapAfter(next.messages) !== null) void this.sync.catchUp(m.conversationId, { background: true });
    }
    st.noteMessage(m, false);
    st.live.stoppedTyping(m.conversationId, m.senderId);
    const me = st.me?.id ?? "";
    if (m.system) st.announcement = systemText(me, m.system);
    else if (m.senderId !== me && known) st.announcement = `New message from ${senderName(st, m)}: ${m.body}`;
    const c = st.conversation(m.conversationId);
    if (c && deservesNotification(c, m, me, document.visibilityState === "hidden"))
      show(c.kind === "direct" ? senderName(st, m) : `${senderName(st, m)} in ${nameOf(st, c)}`, m.body, c.id, () =>
        this.open(c.id),
      );
    st.changed();
  }

  private onChange(c: Change): void {
    const st = this.st;
    // a deleted message's words must not linger for a screen reader either
    if (c.kind === "delete" && st.announcement) st.announcement = "A message was deleted.";
    const t = st.threads.get(c.conversationId);
    if (t?.loaded) {
      const next = applyChanges(t, [c]);
      st.setThread(c.conversationId, next);
      // changes this client did not hear of come before this one: fetch them in order
      if (c.rev > next.rev) void this.sync.catchUpChanges(c.conversationId, { background: true });
    }
    st.noteChanged(c.message);
  }
}
