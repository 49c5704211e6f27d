/**
 * What the socket says, applied to the state: `ready` starts the catch-up, a live message joins
 * its thread (and a gap triggers a catch-up), reads, typing and presence go to the live signals.
 */
import type { Message } from "@parley/contract";
import type { ServerFrame } from "@parley/contract/frames";
import { api } from "./api-client.ts";
import { applyRead } from "./conversations.ts";
import { senderName } from "./selectors.ts";
import type { StoreState } from "./store-state.ts";
import type { Sync } from "./sync.ts";
import { confirmMessage, gapAfter, isGap } from "./thread.ts";

export class FrameHandler {
  constructor(
    private readonly st: StoreState,
    private readonly sync: Sync,
    /** sends what is still waiting in the outbox */
    private readonly resend: () => void,
  ) {}

  onFrame(f: ServerFrame): void {
    const st = this.st;
    switch (f.type) {
      case "ready":
        // After every (re)connect: fetch what was missed, then send what is still waiting.
        void this.sync.loadConversations();
        for (const id of st.threads.keys()) if (st.thread(id).loaded) void this.sync.catchUp(id);
        this.resend();
        break;
      case "message":
        this.onMessage(f.message);
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
      if (gap || gapAfter(next.messages) !== null) void this.sync.catchUp(m.conversationId);
    }
    st.noteMessage(m, false);
    st.live.stoppedTyping(m.conversationId, m.senderId);
    if (m.senderId !== st.me?.id && known) st.announcement = `New message from ${senderName(st, m)}: ${m.body}`;
    st.changed();
  }
}
