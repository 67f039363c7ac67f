/**
 * The signed log's routes on one storage backend (run by log-sqlite.test.ts and
 * log-postgres.test.ts): every append publishes a signed root in its transaction; roots,
 * consistency proofs, map proofs (now and at any past root) and the change list check with the
 * identity verifiers; an auditor replaying the changes recomputes every root.
 */
import { describe, expect, it } from 'vitest';
import { defaultBackend } from '@saltbox/saltpack';
import {
  hexToBytes,
  linkMerkleRoot,
  logLeafData,
  MemoryLog,
  MemoryMap,
  toHex,
  verifyLogRoot,
  verifyLogRootsConsistent,
  verifyMapProof,
} from '@saltbox/identity';
import type { ChainTail, VerifiedLogRoot } from '@saltbox/identity';
import {
  chainPath,
  logChangesResponseSchema,
  logConsistencyResponseSchema,
  logProofResponseSchema,
  logProofsResponseSchema,
  signedLogRootSchema,
} from '@saltbox/protocol';
import { createApp } from '../src/http/app.js';
import type { App } from '../src/http/app.js';
import type { LogWork } from '../src/storage/log-store.js';
import type { Storage } from '../src/storage/types.js';
import {
  addDeviceLinks,
  errorCode,
  newUser,
  pukBox,
  revokeDeviceLinks,
  signed,
} from './helpers.js';
import type { TestUser } from './helpers.js';

const backend = await defaultBackend();

async function json<T>(app: App, path: string, schema: { parse: (v: unknown) => T }): Promise<T> {
  const res = await app.request(path);
  expect(res.status, await res.clone().text()).toBe(200);
  return schema.parse(await res.json());
}

export function logRoutesSuite(name: string, open: () => Promise<Storage>): void {
  describe(`the signed log on ${name}`, () => {
    async function setup(): Promise<{
      app: App;
      storage: Storage;
      signup: (n: string) => Promise<TestUser>;
    }> {
      const storage = await open();
      const app = createApp({ storage, backend, logger: () => undefined });
      const signup = async (n: string): Promise<TestUser> => {
        const { user, request } = newUser(backend, n);
        const res = await signed(backend, app, user.devices[0]!, '/api/v1/users', {
          body: request,
        });
        expect(res.status, await res.clone().text()).toBe(201);
        return user;
      };
      return { app, storage, signup };
    }

    it('publishes a signed root per append whose map proves each chain tail, now and before', async () => {
      const { app, storage, signup } = await setup();
      expect(await errorCode(await app.request('/api/v1/log/root'))).toBe('LOG_ROOT_NOT_FOUND');
      const alice = await signup('alice');
      const bob = await signup('bob');
      const d1 = alice.devices[0]!;
      const added = addDeviceLinks(backend, alice, d1);
      let res = await signed(backend, app, d1, chainPath('alice'), {
        body: {
          links: added.links,
          pukBoxes: [pukBox(backend, d1, added.device, alice.pukSeeds[0]!, 1)],
        },
      });
      expect(res.status, await res.clone().text()).toBe(200);
      const rev = revokeDeviceLinks(backend, alice, d1, added.device);
      res = await signed(backend, app, d1, chainPath('alice'), { body: rev });
      expect(res.status, await res.clone().text()).toBe(200);

      const latest = await json(app, '/api/v1/log/root', signedLogRootSchema);
      expect(latest.seqno).toBe(4);
      const kid = latest.kid;
      expect(kid).toBe(await storage.log.kid());
      const roots: VerifiedLogRoot[] = [];
      for (let s = 1; s <= 4; s++) {
        const r = await json(app, `/api/v1/log/root?seqno=${s}`, signedLogRootSchema);
        roots.push(verifyLogRoot(backend, r, kid));
      }
      for (let s = 2; s <= 4; s++) expect(roots[s - 1]!.prev).toBe(roots[s - 2]!.hashMeta);
      for (let m = 1; m <= 4; m++) {
        const c = await json(
          app,
          `/api/v1/log/consistency?from=${m}&to=4`,
          logConsistencyResponseSchema,
        );
        verifyLogRootsConsistent(backend, roots[m - 1]!, roots[3]!, c.proof);
      }
      const tailOf = (u: TestUser): ChainTail => ({
        seqno: u.links.length,
        linkId: u.links[u.links.length - 1]!.linkId,
        eldestKid: u.eldestKid,
      });
      // Now: both users at their tails. At root 2 (after bob's sign-up): alice at seqno 3.
      for (const [u, seqno, want] of [
        [alice, undefined, tailOf(alice)],
        [bob, undefined, tailOf(bob)],
        [alice, 2, { seqno: 3, linkId: alice.links[2]!.linkId, eldestKid: alice.eldestKid }],
        [bob, 1, null],
      ] as const) {
        const q = seqno === undefined ? '' : `&seqno=${seqno}`;
        const p = await json(app, `/api/v1/log/proof?id=${u.uid}${q}`, logProofResponseSchema);
        const root = verifyLogRoot(backend, p.root, kid);
        expect(root.seqno).toBe(seqno ?? 4);
        expect(verifyMapProof(backend, hexToBytes(root.map), u.uid, p.proof)).toEqual(want);
      }
    });

    it('answers proofs for several chains at one root in one request, and refuses bad id lists', async () => {
      const { app, signup } = await setup();
      const users = [];
      for (const n of ['hana', 'ivan', 'jo']) users.push(await signup(n));
      const absent = 'ab'.repeat(16);
      const ids = [users[2]!.uid, absent, users[0]!.uid];
      for (const seqno of [undefined, 2]) {
        const q = seqno === undefined ? '' : `&seqno=${seqno}`;
        const res = await json(
          app,
          `/api/v1/log/proofs?ids=${ids.join(',')}${q}`,
          logProofsResponseSchema,
        );
        const root = verifyLogRoot(backend, res.root, res.root.kid);
        expect(root.seqno).toBe(seqno ?? 3);
        expect(res.proofs.map((p) => p.id)).toEqual(ids);
        const tails = res.proofs.map((p) =>
          verifyMapProof(backend, hexToBytes(root.map), p.id, p.proof),
        );
        const jo = users[2]!;
        expect(tails[0]).toEqual(
          seqno === 2
            ? null
            : { seqno: jo.links.length, linkId: jo.links.at(-1)!.linkId, eldestKid: jo.eldestKid },
        );
        expect(tails[1]).toBeNull();
        expect(tails[2]?.linkId).toBe(users[0]!.links.at(-1)!.linkId);
      }
      for (const bad of [
        '',
        'xyz',
        `${absent},${absent}`,
        Array.from({ length: 101 }, (_, i) => i.toString(16).padStart(32, '0')).join(','),
      ])
        expect(await errorCode(await app.request(`/api/v1/log/proofs?ids=${bad}`))).toBe(
          'VALIDATION_FAILED',
        );
      expect(await errorCode(await app.request(`/api/v1/log/proofs?ids=${absent}&seqno=9`))).toBe(
        'LOG_ROOT_NOT_FOUND',
      );
    });

    it('lets an auditor replay the changes and recompute every root', async () => {
      const { app, signup } = await setup();
      for (const n of ['carol', 'dave', 'erin', 'frank', 'gus']) await signup(n);
      const latest = await json(app, '/api/v1/log/root', signedLogRootSchema);
      const { roots: sets } = await json(
        app,
        '/api/v1/log/changes?from=1&limit=1000',
        logChangesResponseSchema,
      );
      expect(sets.map((s) => s.seqno)).toEqual([1, 2, 3, 4, 5]);
      const map = new MemoryMap(backend);
      const log = new MemoryLog(backend);
      let prev: string | null = null;
      for (const set of sets) {
        map.update(
          set.changes.map(
            (c) => [c.id, { seqno: c.tail[0], linkId: c.tail[1], eldestKid: c.tail[2] }] as const,
          ),
        );
        // The page carries each root: the same one the root route serves.
        expect(set.root).toEqual(
          await json(app, `/api/v1/log/root?seqno=${set.seqno}`, signedLogRootSchema),
        );
        const served = verifyLogRoot(backend, set.root, latest.kid);
        expect(served.map).toBe(toHex(map.root));
        expect(served.log).toBe(toHex(log.append(logLeafData(served))));
        expect(served.prev).toBe(prev);
        prev = served.hashMeta;
      }
    });

    it('accepts a new link naming the latest or a recent root, refuses an unknown or stale one', async () => {
      const storage = await open();
      const clock = { t: Date.now(), now: () => clock.t };
      const app = createApp({ storage, backend, clock, logger: () => undefined });
      const { user: alice, request } = newUser(backend, 'alice');
      let res = await signed(backend, app, alice.devices[0]!, '/api/v1/users', {
        body: request,
        timestamp: clock.t,
      });
      expect(res.status).toBe(201);
      const d1 = alice.devices[0]!;
      const root1 = verifyLogRoot(backend, (await storage.log.latest())!, await storage.log.kid());
      let devices = 0;
      const post = async (): Promise<Response> => {
        // Device names are unique per user: each post adds another.
        const added = addDeviceLinks(backend, alice, d1, undefined, `phone${++devices}`);
        const r = await signed(backend, app, d1, chainPath('alice'), {
          body: {
            links: added.links,
            pukBoxes: [pukBox(backend, d1, added.device, alice.pukSeeds[0]!, 1)],
          },
          timestamp: clock.t,
        });
        if (r.status !== 200) {
          alice.links.splice(-2);
          alice.devices.pop();
        }
        return r;
      };
      // A root this server never published.
      alice.merkleRoot = { ...linkMerkleRoot(root1), hash_meta: 'ab'.repeat(32) };
      res = await post();
      expect(res.status).toBe(400);
      expect(await errorCode(res)).toBe('LINK_MERKLE_ROOT_UNKNOWN');
      // The latest root: accepted (and publishes root 2).
      alice.merkleRoot = linkMerkleRoot(root1);
      expect((await post()).status).toBe(200);
      // Root 1 is no longer the latest; fine while recent, refused 11 minutes on.
      expect((await post()).status).toBe(200);
      // Backdated: a root it did publish, but older than the window (#14.7, its own code).
      clock.t += 11 * 60 * 1000;
      res = await post();
      expect(res.status).toBe(400);
      expect(await res.clone().text()).toMatch(/too old/);
      expect(await errorCode(res)).toBe('LINK_MERKLE_ROOT_STALE');
      const latest = verifyLogRoot(backend, (await storage.log.latest())!, await storage.log.kid());
      alice.merkleRoot = linkMerkleRoot(latest);
      expect((await post()).status).toBe(200);
    });

    it('group-commits the appends of one event-loop turn under one root, each in its own savepoint', async () => {
      const { storage } = await setup();
      const tail = (n: number): ChainTail => ({
        seqno: n,
        linkId: n.toString(16).padStart(64, '0'),
        eldestKid: null,
      });
      const [a, b, c] = ['a', 'b', 'c'].map((x) => x.repeat(32)) as [string, string, string];
      // Each append marks its work with a nonce row, to see whose writes were kept.
      const mark = (trx: Parameters<LogWork>[0], kid: string) =>
        trx
          .insertInto('request_nonces')
          .values({ kid, nonce: 'n', expires_at: 4_000_000_000_000 })
          .execute();
      const settled = await Promise.allSettled([
        storage.log.transact(async (trx) => {
          await mark(trx, 'k1');
          return [[a, tail(1)]];
        }),
        storage.log.transact(async (trx) => {
          await mark(trx, 'k2');
          throw new Error('refused');
        }),
        storage.log.transact(async (trx) => {
          await mark(trx, 'k3');
          return [[c, tail(2)]];
        }),
      ]);
      expect(settled.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect((settled[1] as PromiseRejectedResult).reason).toEqual(new Error('refused'));
      // One root for the group; it holds the two appends that stood, not the refused one.
      expect((await storage.log.latest())?.seqno).toBe(1);
      const [set] = await storage.log.changes(1, 10);
      expect(set!.changes).toEqual([
        { id: a, tail: tail(1) },
        { id: c, tail: tail(2) },
      ]);
      expect(await storage.nonces.claimNonce('k1', 'n', 4_000_000_000_000)).toBe(false);
      expect(await storage.nonces.claimNonce('k2', 'n', 4_000_000_000_000)).toBe(true);
      expect(await storage.nonces.claimNonce('k3', 'n', 4_000_000_000_000)).toBe(false);
      // Alone, a refused append publishes nothing and keeps nothing.
      await expect(
        storage.log.transact(async (trx) => {
          await mark(trx, 'k4');
          throw new Error('refused alone');
        }),
      ).rejects.toThrow('refused alone');
      expect((await storage.log.latest())?.seqno).toBe(1);
      expect(await storage.nonces.claimNonce('k4', 'n', 4_000_000_000_000)).toBe(true);
      // A later append of `b` gets the next root, whose map holds all three chains.
      await storage.log.transact(() => Promise.resolve([[b, tail(5)]]));
      const root = await storage.log.latest();
      expect(root?.seqno).toBe(2);
      const verified = verifyLogRoot(backend, root!, await storage.log.kid());
      for (const [id, want] of [
        [a, tail(1)],
        [b, tail(5)],
        [c, tail(2)],
      ] as const)
        expect(
          verifyMapProof(backend, hexToBytes(verified.map), id, await storage.log.mapProof(id, 2)),
        ).toEqual(want);
    });

    it('refuses malformed queries and unknown roots with codes', async () => {
      const { app, signup } = await setup();
      await signup('alice');
      for (const [path, code] of [
        ['/api/v1/log/root?seqno=0', 'VALIDATION_FAILED'],
        ['/api/v1/log/root?seqno=9', 'LOG_ROOT_NOT_FOUND'],
        ['/api/v1/log/consistency?from=2&to=1', 'VALIDATION_FAILED'],
        ['/api/v1/log/consistency?from=1&to=5', 'LOG_ROOT_NOT_FOUND'],
        ['/api/v1/log/proof?id=zz', 'VALIDATION_FAILED'],
        ['/api/v1/log/changes?from=1&limit=100000', 'VALIDATION_FAILED'],
      ] as const)
        expect(await errorCode(await app.request(path)), path).toBe(code);
    });
  });
}
