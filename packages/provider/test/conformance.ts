/**
 * The Keeper conformance suite, equivalent to Go CDK's `secrets/drivertest`
 * (`RunConformanceTests`, spec keystore-and-secrets-providers §2.1): round trip, two
 * encryptions of one plaintext differ, a malformed ciphertext fails, `errorAs` finds the
 * provider's error, and the closed-keeper rules of the portable wrapper. It takes the keeper
 * as a parameter, so every way of reaching a keeper (in-process, agent, Vault bridge) runs it.
 */
import { describe, expect, it } from 'vitest';
import { bytesEqual } from '@saltbox/saltpack/encoding';
import type { Keeper } from '../src/index.js';
import { ProviderError } from '../src/index.js';

/** A keeper under test and how to dispose of it. */
export interface KeeperHarness {
  keeper: Keeper;
  cleanup?: () => Promise<void>;
}

const enc = (s: string) => new TextEncoder().encode(s);

/** Registers the suite for keepers made by `open` (a fresh keeper per test). */
export function runKeeperConformance(name: string, open: () => Promise<KeeperHarness>): void {
  describe(`keeper conformance: ${name}`, () => {
    const withKeeper = async (fn: (k: Keeper) => Promise<void>) => {
      const h = await open();
      try {
        await fn(h.keeper);
      } finally {
        if (!h.keeper.closed) await h.keeper.close();
        await h.cleanup?.();
      }
    };

    it('encrypts and decrypts (round trip, including a 32-byte data key and empty input)', () =>
      withKeeper(async (k) => {
        for (const msg of [
          enc('hello world'),
          crypto.getRandomValues(new Uint8Array(32)),
          new Uint8Array(0),
        ]) {
          const ct = await k.encrypt(msg);
          expect(bytesEqual(ct, msg)).toBe(false);
          expect(bytesEqual(await k.decrypt(ct), msg)).toBe(true);
        }
      }));

    it('two encryptions of one plaintext differ (randomised)', () =>
      withKeeper(async (k) => {
        const msg = enc('the same secret');
        const a = await k.encrypt(msg);
        const b = await k.encrypt(msg);
        expect(bytesEqual(a, b)).toBe(false);
        expect(bytesEqual(await k.decrypt(a), await k.decrypt(b))).toBe(true);
      }));

    it('a malformed ciphertext fails with a coded error', () =>
      withKeeper(async (k) => {
        const good = await k.encrypt(enc('x'));
        const flipped = good.slice();
        flipped[flipped.length - 5]! ^= 0x01;
        for (const bad of [enc('not a ciphertext'), good.slice(0, good.length - 3), flipped]) {
          const err = await k.decrypt(bad).then(
            () => null,
            (e: unknown) => e,
          );
          expect(err).toBeInstanceOf(ProviderError);
          expect(['InvalidArgument', 'PermissionDenied']).toContain(k.errorCode(err));
        }
      }));

    it('errorAs finds the provider error; errorCode names its Go CDK code', () =>
      withKeeper(async (k) => {
        const err = await k.decrypt(enc('garbage')).then(
          () => null,
          (e: unknown) => e,
        );
        const pe = k.errorAs(err, ProviderError);
        expect(pe).toBeInstanceOf(ProviderError);
        expect(k.errorCode(err)).toBe(pe!.code);
        expect(k.errorAs(err, RangeError)).toBeUndefined();
        expect(k.errorCode(null)).toBe('OK');
      }));

    it('after close every call fails with FailedPrecondition, closing again too', async () => {
      const h = await open();
      const ct = await h.keeper.encrypt(enc('x'));
      await h.keeper.close();
      for (const call of [
        () => h.keeper.encrypt(enc('x')),
        () => h.keeper.decrypt(ct),
        () => h.keeper.close(),
      ]) {
        const err = await call().then(
          () => null,
          (e: unknown) => e,
        );
        expect(h.keeper.errorCode(err)).toBe('FailedPrecondition');
        expect(h.keeper.errorCodeNumber(err)).toBe(7);
      }
      await h.cleanup?.();
    });
  });
}
