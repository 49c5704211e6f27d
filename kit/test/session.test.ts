import { afterEach, expect, setSystemTime, test } from "bun:test";
import { jwt } from "@elysiajs/jwt";
import { Elysia } from "elysia";
import { newSessionId, type TokenVerifier, verifySession } from "../src/session.ts";

const settings = { jwtSecret: "kit-test-secret-0123456789-abcdefghij", jwtIssuer: "parley", jwtAudience: "parley" };
const USER = "0123456789abcdef01234567";

/** The real @elysiajs/jwt signer and verifier, as the services use it, with its verify calls counted. */
function tokens() {
  const real = new Elysia().use(
    jwt({
      name: "sessionJwt",
      secret: settings.jwtSecret,
      iss: settings.jwtIssuer,
      aud: settings.jwtAudience,
      exp: "60s",
    }),
  ).decorator.sessionJwt;
  let checks = 0;
  const verifier: TokenVerifier = {
    verify: (token, options) => {
      checks++;
      return real.verify(token, options) as ReturnType<TokenVerifier["verify"]>;
    },
  };
  const sign = () => real.sign({ sub: USER, username: "ada", sid: newSessionId(), sat: Date.now() });
  return { verifier, sign, checks: () => checks };
}

afterEach(() => setSystemTime());

test("a valid token is verified once, then known until it expires", async () => {
  const t = tokens();
  const token = await t.sign();
  const first = await verifySession(t.verifier, token, settings);
  expect(first?.userId).toBe(USER);
  expect(await verifySession(t.verifier, token, settings)).toEqual(first);
  expect(t.checks()).toBe(1);

  // past its expiry the cached session is dropped and the token checked (and refused) again
  setSystemTime(new Date(Date.now() + 61_000));
  expect(await verifySession(t.verifier, token, settings)).toBeNull();
  expect(t.checks()).toBe(2);
});

test("remember: false checks every time and keeps nothing (realtime's socket upgrade)", async () => {
  const t = tokens();
  const token = await t.sign();
  const once = { remember: false };
  expect((await verifySession(t.verifier, token, settings, once))?.userId).toBe(USER);
  expect((await verifySession(t.verifier, token, settings, once))?.userId).toBe(USER);
  expect(t.checks()).toBe(2);
  // nor did those checks fill the cache: a remembering check verifies afresh
  await verifySession(t.verifier, token, settings);
  expect(t.checks()).toBe(3);
});

test("a token altered in any byte is checked afresh and refused; refusals are not remembered", async () => {
  const t = tokens();
  const token = await t.sign();
  expect(await verifySession(t.verifier, token, settings)).not.toBeNull();
  const [head, body, sig] = token.split(".");
  const forged = `${head}.${body}.${sig!.slice(0, -2)}${sig!.endsWith("AA") ? "BB" : "AA"}`;
  expect(await verifySession(t.verifier, forged, settings)).toBeNull();
  expect(await verifySession(t.verifier, forged, settings)).toBeNull();
  expect(t.checks()).toBe(3);
});

test("another verifier (another secret) does not see the first one's tokens as verified", async () => {
  const a = tokens();
  const token = await a.sign();
  expect(await verifySession(a.verifier, token, settings)).not.toBeNull();
  const other = new Elysia().use(jwt({ name: "sessionJwt", secret: "another-secret-0123456789-abcdefghij" })).decorator
    .sessionJwt as unknown as TokenVerifier;
  expect(await verifySession(other, token, settings)).toBeNull();
});
