/**
 * Issue 10, defects 2 and 3: sign-in throttling that nobody can turn against the owner, and
 * registration that cannot starve the api of CPU (limited per address, hashing bounded, stated
 * argon2id parameters).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startTestApi, type TestApi } from "./helpers/app.ts";

const run = Date.now().toString(36).slice(-6);
let hosts = 0;
const rnd = () => Math.floor(Math.random() * 250) + 1;
/** A fresh client address (behind the trusted proxy of the test app). */
const address = () => `10.${rnd()}.${rnd()}.${++hosts % 250}`;
const from = (addr: string) => ({ "x-forwarded-for": addr });

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi("throttle", {
    loginMaxFailures: 5,
    loginUserMaxFailures: 8,
    loginWindowSeconds: 120,
    registerRateMax: 3,
    registerRateWindowSeconds: 120,
  });
});
afterAll(() => api.stop());

const login = (username: string, password: string, addr: string) =>
  api.call("POST", "/api/auth/login", { body: { username, password }, headers: from(addr) });
const register = (username: string, addr: string) =>
  api.call("POST", "/api/auth/register", { body: { username, password: "the-owners-password" }, headers: from(addr) });

describe("sign-in throttling (defect 2)", () => {
  test("a stranger's wrong guesses never lock the owner out of their usual address", async () => {
    const owner = `owner_${run}`;
    const home = address();
    expect((await register(owner, home)).status).toBe(201);
    // someone else guesses from one address: limited there
    const attacker = address();
    const guesses = [];
    for (let i = 0; i < 7; i++) guesses.push((await login(owner, `guess-${i}-password`, attacker)).status);
    expect(guesses).toEqual([401, 401, 401, 401, 401, 429, 429]);
    // the owner, from home, with the right password: in
    expect((await login(owner, "the-owners-password", home)).status).toBe(200);
    // guesses spread over many addresses meet the per-username limit (LOGIN_USER_MAX_FAILURES)
    const spread = [];
    for (let i = 0; i < 6; i++) spread.push((await login(owner, `spread-${i}-password`, address())).status);
    expect(spread.slice(-2)).toEqual([429, 429]);
    expect(spread.filter((s) => s === 401).length).toBeLessThanOrEqual(8);
    // still the owner gets in from where they always sign in
    const again = await login(owner, "the-owners-password", home);
    expect(again.status).toBe(200);
    expect(again.body.user.username).toBe(owner);
    // from an address never used, they wait out the window like the guesser (the price of the limit)
    const away = await login(owner, "the-owners-password", address());
    expect(away.status).toBe(429);
    expect(Number(away.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  test("an address the owner signed in from once counts as theirs from then on", async () => {
    const owner = `mover_${run}`;
    expect((await register(owner, address())).status).toBe(201);
    const office = address();
    expect((await login(owner, "the-owners-password", office)).status).toBe(200);
    for (let i = 0; i < 9; i++) await login(owner, `spread-${i}-password`, address());
    expect((await login(owner, "wrong-password-x", address())).status).toBe(429);
    expect((await login(owner, "the-owners-password", office)).status).toBe(200);
  });
});

describe("registration (defect 3)", () => {
  test("per address: the 4th registration within the window is 429 with Retry-After and creates nothing", async () => {
    const shared = address();
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await register(`reg_${run}_${i}`, shared)).status);
    expect(statuses).toEqual([201, 201, 201, 429]);
    expect(await api.deps.db.User.countDocuments({ usernameLower: `reg_${run}_3` })).toBe(0);
    const refused = await register(`reg_${run}_4`, shared);
    expect(refused.body.error.code).toBe("rate_limited");
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    // another address registers as usual
    expect((await register(`reg_${run}_5`, address())).status).toBe(201);
  });

  test("hashes run in bounded gates: a burst of registrations never runs more than its share at once, and a sign-in does not wait behind it", async () => {
    const app = await startTestApi("throttle_burst", { passwordHashConcurrency: 2, registerRateMax: 1000 });
    try {
      const username = `signin_${run}`;
      expect(
        (await app.call("POST", "/api/auth/register", { body: { username, password: "password123" } })).status,
      ).toBe(201);
      const burst = Array.from({ length: 16 }, (_, i) =>
        app.call("POST", "/api/auth/register", {
          body: { username: `burst_${run}_${i}`, password: "password123" },
          headers: from(address()),
        }),
      );
      const signIn = app.call("POST", "/api/auth/login", { body: { username, password: "password123" } });
      const [answers, signedIn] = await Promise.all([Promise.all(burst), signIn]);
      expect(signedIn.status).toBe(200);
      const { passwords } = app.deps;
      expect(passwords.register.peak).toBe(1);
      expect(passwords.signIn.peak).toBeLessThanOrEqual(2);
      // what did not fit in the queue was refused at once, saying when to try again
      for (const r of answers) {
        expect([201, 503]).toContain(r.status);
        if (r.status === 503) {
          expect(r.body.error.code).toBe("unavailable");
          expect(r.headers.get("retry-after")).toBe("1");
        }
      }
      expect(answers.filter((r) => r.status === 201).length).toBeGreaterThanOrEqual(1 + passwords.register.queue);
    } finally {
      await app.stop();
    }
  });

  test("passwords are argon2id with m = 19 MiB, t = 2, p = 1 (OWASP's minimum)", async () => {
    const username = `params_${run}`;
    expect((await register(username, address())).status).toBe(201);
    const stored = await api.deps.db.User.findOne({ usernameLower: username }).lean();
    expect(stored?.passwordHash).toStartWith("$argon2id$v=19$m=19456,t=2,p=1$");
  });
});
