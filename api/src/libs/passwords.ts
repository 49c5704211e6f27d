/**
 * Password hashing, bounded. Each argon2id hash takes memory and a core for a while (Bun runs it
 * on a worker thread), so a burst of registrations used to starve everything else: 24 at once
 * made a normal login take 3.3 s instead of 0.19 s. Hashes therefore wait their turn in two
 * gates: sign-ins (verifying) and registrations (hashing), each with its own places, so a wave
 * of registrations never queues a sign-in behind it. A gate whose queue is full answers 503
 * `unavailable` with Retry-After at once rather than piling up work and memory.
 *
 * Parameters (OWASP Password Storage Cheat Sheet, argon2id: m ≥ 19 MiB, t ≥ 2, p = 1): m = 19 MiB,
 * t = 2, p = 1. Hashes made with other parameters (64 MiB before) still verify: a hash carries
 * its own.
 */
import { ApiError } from "./errors.ts";
import { Gate } from "@parley/kit/gate";

export const ARGON2 = { algorithm: "argon2id", memoryCost: 19 * 1024, timeCost: 2 } as const;

/** Hashes wait in a gate; a full queue answers 503 at once, asking to come back in a second. */
const hashGate = (limit: number, queue: number) =>
  new Gate(limit, {
    queue,
    refuse: () =>
      new ApiError("unavailable", "the server is busy signing people in; try again in a moment", undefined, {
        "retry-after": "1",
      }),
  });

export class Passwords {
  /** verifying at sign-in */
  readonly signIn: Gate;
  /** hashing at registration: at most half the places, at least one */
  readonly register: Gate;
  private dummyHash: Promise<string> | undefined;

  constructor(concurrency: number) {
    this.signIn = hashGate(concurrency, concurrency * 16);
    this.register = hashGate(Math.max(1, Math.floor(concurrency / 2)), 8);
  }

  hash(password: string): Promise<string> {
    return this.register.run(() => Bun.password.hash(password, ARGON2));
  }

  /**
   * Checks a password against a stored hash, or against a hash that never matches when there
   * is none (an unknown user), so "no such user" costs the same as "wrong password".
   */
  async verify(password: string, hash: string | undefined): Promise<boolean> {
    const stored = hash ?? (await this.dummy());
    const ok = await this.signIn.run(() => Bun.password.verify(password, stored));
    return ok && hash !== undefined;
  }

  private dummy(): Promise<string> {
    this.dummyHash ??= Bun.password.hash(`parley-dummy-${crypto.randomUUID()}`, ARGON2);
    return this.dummyHash;
  }
}
