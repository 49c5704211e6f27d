/**
 * Sign-in throttling that limits guessing without letting anyone lock the owner out.
 *
 * Failures are counted per window (LOGIN_WINDOW_SECONDS) three ways, in Redis so every api
 * process shares them:
 *  - per username and address: LOGIN_MAX_FAILURES. Only guesses from your own address count
 *    against you there, so a stranger's guesses never lock you out of it;
 *  - per address, across usernames: 4 × LOGIN_MAX_FAILURES (one address spraying many names);
 *  - per username, from every address it has never signed in from: LOGIN_USER_MAX_FAILURES, a
 *    higher limit against guessing spread over many addresses. Addresses the user registered or
 *    signed in from are remembered (30 days) and do not meet this limit, so the owner signing in
 *    from their usual address gets in while a botnet guesses; from a new address they may have
 *    to wait out the window.
 * An attempt is counted before the password is checked (concurrent guesses each see the others),
 * and handed back when the password was right.
 *
 * IPv6 addresses count per /64: one subscriber usually holds a whole /64 and could otherwise
 * take a fresh address for every guess.
 */
import type { Deps } from "../../libs/deps.ts";

/** Per-address failures may be higher than per-user ones: several people can share one address. */
const ADDRESS_FACTOR = 4;
const KNOWN_DAYS = 30;
const KNOWN_PREFIX = "parley:login:known:";

type ThrottleDeps = Pick<Deps, "limiter" | "redis" | "config" | "log">;

/** The part of an address that identifies one client: the address, or its /64 for IPv6. */
export function addressKey(address: string): string {
  const a = address.trim().toLowerCase();
  const mapped = a.match(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/);
  if (mapped) return mapped[1]!;
  if (!a.includes(":")) return a;
  const [head = "", tail = ""] = a.split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups = a.includes("::")
    ? [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => (g || "0").replace(/^0+(?=.)/, ""))
    .join(":")}::/64`;
}

export type Attempt = {
  /** the wait in seconds when the attempt is refused, else 0 */
  retryAfter: number;
  /** the password was right: clear and give back what this attempt counted */
  succeeded(): Promise<void>;
};

export async function countAttempt(deps: ThrottleDeps, username: string, address: string): Promise<Attempt> {
  const { limiter, config } = deps;
  const lower = username.toLowerCase();
  const addr = addressKey(address);
  const keys = [`login:pair:${lower}:${addr}`, `login:addr:${addr}`, `login:user:${lower}`];
  const limits = [config.loginMaxFailures, config.loginMaxFailures * ADDRESS_FACTOR, config.loginUserMaxFailures];
  const [counted, known] = await Promise.all([
    limiter.hit(keys, config.loginWindowSeconds),
    deps.redis.sismember(KNOWN_PREFIX + lower, addr).then(
      (n) => n === 1,
      () => false,
    ),
  ]);
  const waits =
    counted?.map((w, i) => {
      if (i === 2 && known) return 0; // the owner's usual address: not held back by strangers' guesses
      return w.count > limits[i]! ? w.retryAfterSeconds : 0;
    }) ?? [];
  return {
    retryAfter: Math.max(0, ...waits),
    async succeeded() {
      await Promise.all([
        limiter.clear([keys[0]!]),
        limiter.release([keys[1]!, keys[2]!]),
        remember(deps, lower, addr),
      ]);
    },
  };
}

/** Remembers `address` as one the user signs in from (registration, a successful sign-in). */
export async function rememberAddress(deps: ThrottleDeps, username: string, address: string): Promise<void> {
  await remember(deps, username.toLowerCase(), addressKey(address));
}

async function remember(deps: ThrottleDeps, lower: string, addr: string): Promise<void> {
  const key = KNOWN_PREFIX + lower;
  try {
    await deps.redis
      .multi()
      .sadd(key, addr)
      .expire(key, KNOWN_DAYS * 86_400)
      .exec();
  } catch (err) {
    deps.log.warn({ err: (err as Error).message }, "could not remember a sign-in address");
  }
}
