/**
 * Builds the real api (app.ts) against the throwaway FerretDB/MongoDB and Redis, plus tiny
 * helpers so each test reads like the scenario it checks.
 */
import Redis from "ioredis";
import { createLogger } from "@parley/kit/log";
import type { AuthResponse } from "@parley/contract";
import { channelOwner, presenceKeys, readRoutedEvent, replicaChannel, userChannel } from "@parley/contract/frames";
import { buildApp, openDeps } from "../../src/app.ts";
import { loadConfig, type Config } from "../../src/config.ts";
import { waitFor } from "../../../scripts/lib/ports.ts";
import { testMongoUrl, testRedisUrl } from "./env.ts";

export const JWT_SECRET = "test-secret-0123456789-abcdefghijklmnop";

export function testConfig(name: string, overrides: Partial<Config> = {}): Config {
  return {
    ...loadConfig({
      JWT_SECRET,
      MONGO_URL: testMongoUrl(name),
      REDIS_URL: testRedisUrl,
      TRUST_PROXY: "true",
      LOG_LEVEL: "silent",
    }),
    ...overrides,
  };
}

export type TestApi = Awaited<ReturnType<typeof startTestApi>>;

/** An app with its own database; resolves once MongoDB and Redis answer (or at once with `wait: false`). */
export async function startTestApi(name: string, overrides: Partial<Config> = {}, { wait = true } = {}) {
  const config = testConfig(name, overrides);
  const deps = openDeps(config, createLogger("api-test", "silent"));
  const app = buildApp(deps);
  if (wait)
    await waitFor(
      "mongo and redis ready",
      async () => (await deps.db.ready()) && deps.redis.status === "ready",
      20_000,
    );

  type Opts = { token?: string; body?: unknown; raw?: BodyInit; headers?: Record<string, string> };
  const call = async (method: string, path: string, opts: Opts = {}) => {
    const headers: Record<string, string> = { "x-forwarded-for": `10.${rnd()}.${rnd()}.${rnd()}`, ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    let body: BodyInit | undefined = opts.raw;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers["content-type"] ??= "application/json";
    }
    const res = await app.handle(new Request(`http://localhost${path}`, { method, headers, body }));
    const text = await res.text();
    // biome-ignore lint/suspicious/noExplicitAny: any JSON the api answers; the tests assert its shape
    let json: any;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = text;
    }
    return { status: res.status, body: json, headers: res.headers };
  };

  let n = 0;
  const register = async (prefix = "user"): Promise<AuthResponse> => {
    const username = `${prefix}_${process.pid}_${++n}_${Math.random().toString(36).slice(2, 6)}`.slice(0, 32);
    const body = { username, password: "correct horse battery" };
    let res = await call("POST", "/api/auth/register", { body });
    // registrations hash one or two at a time with a short queue: a burst of them is told to
    // come back in a moment (503 + Retry-After), as a client would
    for (let tries = 0; res.status === 503 && tries < 60; tries++) {
      await Bun.sleep(Number(res.headers.get("retry-after") ?? 1) * 1000);
      res = await call("POST", "/api/auth/register", { body });
    }
    if (res.status !== 201) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body as AuthResponse;
  };

  return {
    app,
    deps,
    config,
    call,
    register,
    /** stops it; its database is dropped unless `keepData` (another app of the test uses it) */
    async stop({ keepData = false } = {}) {
      if (!keepData) await deps.db.conn.dropDatabase().catch(() => {});
      await deps.close();
    },
  };
}

const rnd = () => Math.floor(Math.random() * 250) + 1;

/**
 * A real Redis subscriber collecting every FanoutEvent per user channel, as a realtime replica
 * holding those users gets them: on one Redis server the api routes events to the replicas the
 * recipients' routes name (kit/route), so this writes each user's route naming a replica of its
 * own (as realtime's presence scripts do), follows that replica's channel and files each event
 * under the channel of every user it names (`events(userChannel(id))`).
 */
export async function subscriber(channels: string[], redisUrl = testRedisUrl) {
  const redis = new Redis(redisUrl, { lazyConnect: true });
  await redis.connect();
  const replica = `api-test-${crypto.randomUUID()}`;
  const userIds = channels.map((channel) => {
    const owner = channelOwner(channel);
    if (owner?.kind !== "user") throw new Error(`not a user channel: ${channel}`);
    return owner.id;
  });
  // biome-ignore lint/suspicious/noExplicitAny: parsed events of every frame type; the tests assert their shape
  const got = new Map<string, any[]>();
  redis.on("message", (_channel: string, text: string) => {
    const routed = readRoutedEvent(text);
    if (!routed) return; // files nothing: the tests' waits for it then fail
    for (const id of routed.userIds) {
      const list = got.get(userChannel(id)) ?? [];
      list.push(JSON.parse(routed.event));
      got.set(userChannel(id), list);
    }
  });
  await redis.subscribe(replicaChannel(replica));
  const entries = new Redis(redisUrl);
  for (const id of userIds) await entries.set(presenceKeys.route(id), replica);
  return {
    events: (channel: string) => got.get(channel) ?? [],
    async close() {
      for (const id of userIds) await entries.del(presenceKeys.route(id));
      await Promise.allSettled([entries.quit(), redis.quit()]);
    },
  };
}
