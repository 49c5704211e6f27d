/**
 * The other users' load of bench/reconnect-storm.ts in a process of its own. In the bench's
 * process their requests shared one fetch queue with the 5,000 storm clients' catch-ups: a send
 * waited there behind thousands of them (up to 13 s, measured: the api answered every send
 * within 1 s meanwhile), a queue that users on their own devices never share. Here they have
 * their own, and what they saw comes back to the bench as it happens: each request's sample and
 * each message the api stored (for the ledger), times on the bench's clock.
 */
import { join } from "node:path";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import type { Message } from "@parley/contract";
import { type LoadOptions, OtherUsersLoad, type Sample, SendLedger, type StormPeople } from "./storm-world.ts";

type Line = { sample: Sample } | { sent: { message: Pick<Message, "conversationId" | "seq" | "id">; at: number } };

/** Runs OtherUsersLoad in a child process; `samples` and the ledger fill as it reports. */
export class OtherUsersProcess {
  readonly samples: Sample[] = [];
  private child: ReturnType<typeof Bun.spawn> | undefined;
  private reading: Promise<void> = Promise.resolve();
  private readonly dir = mkdtempSync(join(tmpdir(), "parley-storm-others-"));

  constructor(
    private readonly people: Pick<StormPeople, "others" | "stormConversations" | "otherConversations">,
    private readonly ledger: SendLedger,
    private readonly opts: LoadOptions,
  ) {}

  start(): void {
    const config = join(this.dir, "config.json");
    writeFileSync(config, JSON.stringify({ people: this.people, opts: this.opts }));
    const child = Bun.spawn([process.execPath, import.meta.path, config], {
      stdout: "pipe",
      stderr: "inherit",
      // its own fetch queue, deep enough that no request of theirs waits in it
      env: { ...process.env, BUN_CONFIG_MAX_HTTP_REQUESTS: "4096" },
    });
    this.child = child;
    this.reading = this.read(child.stdout as ReadableStream<Uint8Array>);
  }

  /** Stops issuing requests, waits for those in flight and for everything they reported. */
  async stop(): Promise<void> {
    this.child?.kill("SIGTERM");
    await this.child?.exited;
    await this.reading;
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async read(stream: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let rest = "";
    const reader = stream.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += decoder.decode(value, { stream: true });
      const lines = rest.split("\n");
      rest = lines.pop() ?? "";
      for (const line of lines) if (line) this.take(JSON.parse(line) as Line);
    }
  }

  /** Times come as epoch ms (the two processes' performance clocks start apart). */
  private take(line: Line): void {
    const here = (epochMs: number) => epochMs - performance.timeOrigin;
    if ("sample" in line) this.samples.push({ ...line.sample, at: here(line.sample.at) });
    else this.ledger.add(line.sent.message, here(line.sent.at));
  }
}

if (import.meta.main) {
  const { people, opts } = (await Bun.file(process.argv[2]!).json()) as {
    people: StormPeople;
    opts: LoadOptions;
  };
  const epoch = (at: number) => performance.timeOrigin + at;
  const out: string[] = [];
  class ReportingLedger extends SendLedger {
    override add(m: Pick<Message, "conversationId" | "seq" | "id">, answeredAt: number): void {
      super.add(m, answeredAt);
      out.push(
        JSON.stringify({
          sent: { message: { conversationId: m.conversationId, seq: m.seq, id: m.id }, at: epoch(answeredAt) },
        }),
      );
    }
  }
  const load = new OtherUsersLoad(people, new ReportingLedger(), opts);
  let reported = 0;
  const flush = () => {
    for (; reported < load.samples.length; reported++) {
      const s = load.samples[reported]!;
      out.push(JSON.stringify({ sample: { ...s, at: epoch(s.at) } }));
    }
    if (out.length > 0) process.stdout.write(`${out.splice(0).join("\n")}\n`);
  };
  const flusher = setInterval(flush, 100);
  process.on("SIGTERM", () => {
    void load.stop().then(() => {
      clearInterval(flusher);
      flush();
      process.exit(0);
    });
  });
  load.start();
}
