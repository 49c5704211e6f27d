/**
 * What the user changes besides sending: their messages (edit, delete), reactions, a group
 * (rename, add people, leave) and their own settings (mute). Each is one request; the answer
 * is applied at once, and the same change reaches the user's other tabs and everyone else as a
 * frame. A refusal is said above the composer (`notice`), in the server's words.
 */
import type { Conversation, Id, Message } from "@parley/contract";
import { api } from "./api-client.ts";
import { mergeServerConversation } from "./conversations.ts";
import { errorText } from "./explain.ts";
import type { StoreState } from "./store-state.ts";
import { updateMessage } from "./thread.ts";

export class Changes {
  constructor(
    private readonly st: StoreState,
    /** a request failed: a 401 ends the session */
    private readonly failed: (e: unknown) => void,
  ) {}

  edit(id: Id, seq: number, body: string): Promise<boolean> {
    return this.onMessage(id, "Could not edit the message", () => api.edit(id, seq, body));
  }

  remove(id: Id, seq: number): Promise<boolean> {
    return this.onMessage(id, "Could not delete the message", () => api.remove(id, seq));
  }

  react(id: Id, seq: number, emoji: string, on: boolean): Promise<boolean> {
    return this.onMessage(id, "Could not react", () => api.react(id, seq, emoji, on));
  }

  rename(id: Id, title: string): Promise<boolean> {
    return this.onConversation(id, "Could not rename the group", () => api.rename(id, title));
  }

  addMembers(id: Id, memberIds: Id[]): Promise<boolean> {
    return this.onConversation(id, "Could not add them", () => api.addMembers(id, memberIds));
  }

  setMuted(id: Id, muted: boolean): Promise<boolean> {
    return this.onConversation(id, muted ? "Could not mute" : "Could not unmute", () => api.mute(id, muted));
  }

  async leave(id: Id): Promise<boolean> {
    return this.attempt(id, "Could not leave the group", async () => {
      await api.leave(id);
      this.st.forget(id);
    });
  }

  private onMessage(id: Id, what: string, request: () => Promise<Message>): Promise<boolean> {
    return this.attempt(id, what, async () => {
      const m = await request();
      this.st.setThread(id, updateMessage(this.st.thread(id), m));
      this.st.noteChanged(m);
    });
  }

  private onConversation(id: Id, what: string, request: () => Promise<Conversation>) {
    return this.attempt(id, what, async () => {
      const c = await request();
      this.st.putConversation(mergeServerConversation(this.st.conversation(id), c));
    });
  }

  private async attempt(id: Id, what: string, run: () => Promise<void>): Promise<boolean> {
    const st = this.st;
    if (st.notice?.conversationId === id) st.notice = null;
    try {
      await run();
      return true;
    } catch (e) {
      st.notice = { conversationId: id, text: `${what}: ${errorText(e, "no connection to the server.")}` };
      st.changed();
      this.failed(e);
      return false;
    }
  }
}
