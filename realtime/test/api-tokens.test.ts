/**
 * The tokens realtime signs to ask the api on a user's behalf: the api's own checks
 * (kit/session, with the real @elysiajs/jwt verifier) accept them as the same session; they
 * never outlive the session's token; asks within a minute share one token (one verification).
 */
import { afterEach, expect, setSystemTime, test } from "bun:test";
import { jwt } from "@elysiajs/jwt";
import { newSessionId, type TokenVerifier, verifySession } from "@parley/kit/session";
import { Elysia } from "elysia";
import { ASK_TOKEN_TTL_S, ApiTokens } from "../src/fanout/api-tokens.ts";

const settings = { jwtSecret: "api-tokens-test-secret-0123456789abcdef", jwtIssuer: "parley", jwtAudience: "parley" };
const verifierFor = (secret: string) =>
  new Elysia().use(jwt({ name: "sessionJwt", secret })).decorator.sessionJwt as TokenVerifier;
const USER = "0123456789abcdef01234567";
const nowS = () => Math.floor(Date.now() / 1000);
const session = (tokenExp: number | undefined) => ({
  userId: USER,
  sid: newSessionId(),
  startedAt: Date.now(),
  tokenExp,
});

afterEach(() => setSystemTime());

test("the api's checks accept the token as the socket's own session", async () => {
  const s = session(nowS() + 3600);
  const token = await new ApiTokens(settings).forSession(s);
  const claims = await verifySession(verifierFor(settings.jwtSecret), token, settings, { remember: false });
  expect(claims).toMatchObject({ userId: USER, sid: s.sid, startedAt: s.startedAt });
  expect(claims!.exp).toBeGreaterThanOrEqual(nowS() + ASK_TOKEN_TTL_S);
  expect(claims!.exp).toBeLessThanOrEqual(nowS() + ASK_TOKEN_TTL_S + 60);
});

test("refused under another secret, issuer or audience", async () => {
  const token = await new ApiTokens(settings).forSession(session(nowS() + 3600));
  expect(await verifySession(verifierFor(`${settings.jwtSecret}x`), token, settings, { remember: false })).toBeNull();
  const verifier = verifierFor(settings.jwtSecret);
  expect(await verifySession(verifier, token, { ...settings, jwtIssuer: "other" }, { remember: false })).toBeNull();
  expect(await verifySession(verifier, token, { ...settings, jwtAudience: "other" }, { remember: false })).toBeNull();
});

test("never outlives the session's token: one that expires in 10 s gives a token of 10 s; an expired one, a refused token", async () => {
  const tokens = new ApiTokens(settings);
  const verifier = verifierFor(settings.jwtSecret);
  const soon = nowS() + 10;
  const claims = await verifySession(verifier, await tokens.forSession(session(soon)), settings, { remember: false });
  expect(claims!.exp).toBe(soon);
  const expired = await tokens.forSession(session(nowS() - 1));
  expect(await verifySession(verifier, expired, settings, { remember: false })).toBeNull();
});

test("asks for one session within the same minute carry the same token; the next minute, a new one", async () => {
  const tokens = new ApiTokens(settings);
  const s = session(undefined);
  const minute = Math.ceil(Date.now() / 60_000) * 60_000;
  setSystemTime(new Date(minute + 1_000));
  const first = await tokens.forSession(s);
  setSystemTime(new Date(minute + 59_000));
  expect(await tokens.forSession(s)).toBe(first);
  setSystemTime(new Date(minute + 61_000));
  expect(await tokens.forSession(s)).not.toBe(first);
  // another session of the same user: another token
  setSystemTime(new Date(minute + 1_000));
  expect(await tokens.forSession(session(undefined))).not.toBe(first);
});
