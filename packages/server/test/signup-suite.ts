/**
 * Who may sign up (issue #12.15), on one storage backend: the operator's switch (open, invite,
 * closed), single-use invite codes stored hashed, the per-address sign-up rate and the
 * reserved names — each refused with its own code. Run by `signup-sqlite.test.ts` and
 * `signup-postgres.test.ts`.
 */
import { describe, expect, it } from 'vitest';
import { defaultBackend } from '@saltbox/saltpack';
import { createApp } from '../src/http/app.js';
import type { App, AppOptions } from '../src/http/app.js';
import { createInvite, inviteHash, RESERVED_USERNAMES } from '../src/services/signup-policy.js';
import type { Storage } from '../src/storage/types.js';
import { errorCode, newUser, signed } from './helpers.js';

const backend = await defaultBackend();

export function runSignupSuite(name: string, open: () => Promise<Storage>): void {
  describe(`sign-up policy: ${name}`, () => {
    const clock = {
      t: 1_750_000_000_000,
      now() {
        return this.t;
      },
    };
    const withApp = async (
      options: Partial<AppOptions>,
      test: (app: App, storage: Storage) => Promise<void>,
    ): Promise<void> => {
      const storage = await open();
      try {
        await test(
          createApp({ storage, backend, clock, logger: () => undefined, ...options }),
          storage,
        );
      } finally {
        await storage.close();
      }
    };
    const signup = async (app: App, username: string, extra: { invite?: string } = {}) => {
      const { user, request } = newUser(backend, username);
      return signed(backend, app, user.devices[0]!, '/api/v1/users', {
        body: { ...request, ...extra },
        timestamp: clock.t,
      });
    };
    const refused = async (res: Response, status: number, code: string) => {
      expect(res.status).toBe(status);
      expect(await errorCode(res)).toBe(code);
    };

    it('refuses the reserved names, whatever their case', async () => {
      await withApp({ limits: { signupRate: { burst: 100, perSecond: 1 } } }, async (app) => {
        expect(RESERVED_USERNAMES).toEqual(
          expect.arrayContaining(['admin', 'root', 'support', 'security', 'saltbox', 'keybase']),
        );
        for (const n of ['admin', 'root', 'support', 'security'])
          await refused(await signup(app, n), 403, 'USERNAME_RESERVED');
        await refused(await signup(app, 'Admin'), 403, 'USERNAME_RESERVED');
        expect((await signup(app, 'alice')).status).toBe(201);
      });
    });

    it('takes 5 sign-ups an hour from one address by default, then 429 with Retry-After', async () => {
      await withApp({}, async (app) => {
        for (const n of ['u1', 'u2', 'u3', 'u4', 'u5'])
          expect((await signup(app, n)).status).toBe(201);
        const res = await signup(app, 'u6');
        await refused(res.clone(), 429, 'RATE_LIMITED');
        expect(Number(res.headers.get('retry-after'))).toBe(720);
        // Other requests from the same address are not slowed down.
        expect((await app.request('/healthz')).status).toBe(200);
        clock.t += 12 * 60 * 1000;
        expect((await signup(app, 'u6')).status).toBe(201);
        await refused(await signup(app, 'u7'), 429, 'RATE_LIMITED');
      });
    });

    it('follows limits.signupRate', async () => {
      await withApp({ limits: { signupRate: { burst: 1, perSecond: 1 / 60 } } }, async (app) => {
        expect((await signup(app, 'v1')).status).toBe(201);
        await refused(await signup(app, 'v2'), 429, 'RATE_LIMITED');
      });
    });

    it('refuses every sign-up when closed', async () => {
      await withApp({ signup: { mode: 'closed', reserved: [] } }, async (app) => {
        await refused(await signup(app, 'alice'), 403, 'SIGNUP_CLOSED');
      });
    });

    it('by invitation: a code is needed, works once, and only its hash is stored', async () => {
      await withApp(
        {
          signup: { mode: 'invite', reserved: [] },
          limits: { signupRate: { burst: 100, perSecond: 1 } },
        },
        async (app, storage) => {
          await refused(await signup(app, 'alice'), 403, 'INVITE_REQUIRED');
          await refused(await signup(app, 'alice', { invite: 'guessed' }), 403, 'INVITE_INVALID');
          const code = await createInvite(storage, clock.t);
          expect(code).toMatch(/^[A-Za-z0-9_-]{24}$/);
          expect(await storage.invites.countUnusedInvites()).toBe(1);
          expect((await signup(app, 'alice', { invite: code })).status).toBe(201);
          await refused(await signup(app, 'bob', { invite: code }), 403, 'INVITE_INVALID');
          expect(await storage.invites.countUnusedInvites()).toBe(0);
          // A sign-up that fails (name taken) does not use the code up.
          const second = await createInvite(storage, clock.t);
          await refused(await signup(app, 'alice', { invite: second }), 409, 'USERNAME_TAKEN');
          expect((await signup(app, 'bob', { invite: second })).status).toBe(201);
          // Codes are stored as their SHA-256 only (storage speaks its own codes, #16.3).
          await expect(
            storage.invites.createInvite(inviteHash(code), clock.t),
          ).rejects.toMatchObject({
            code: 'STORAGE_UNIQUE_VIOLATION',
            subject: 'invite',
          });
        },
      );
    });
  });
}
