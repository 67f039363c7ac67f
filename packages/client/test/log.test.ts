/**
 * The client's check of the server's signed log (`LogClient`): a real server on SQLite over a
 * real socket, users signed up to move the log, and in front of the server a rewriting fetch
 * for the hostile cases — a root signed by another key, a rollback, a consistency proof that
 * does not hold, a fork signed with the server's own key, a map proof that does not lead to the
 * root. Each is refused with its own code. The pin lives in `log-pins.json` (0600) and a second
 * process-worth of client on the same home checks consistency from it.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultBackend } from '@saltbox/saltpack';
import {
  hexToBytes,
  logLeafData,
  logRootHashMeta,
  MemoryLog,
  signLogRoot,
  toHex,
} from '@saltbox/identity';
import type { LogRootBody } from '@saltbox/identity';
import type { LogProofsResponse, SignedLogRootWire } from '@saltbox/protocol';
import { ApiClient, FileLogPinStore, isClientError, LogClient } from '../src/index.js';
import type { LogPinStore } from '../src/index.js';
import { MemoryLogPinStore } from '../src/index.js';
import { signupUser, startTestServer, tempHome } from './helpers.js';
import { lyingFetch } from './lying-fetch.js';

const backend = await defaultBackend();

async function code(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'resolved',
    (e: unknown) => (isClientError(e) ? e.code : String(e)),
  );
}

describe('LogClient', () => {
  let srv: Awaited<ReturnType<typeof startTestServer>>;
  let n = 0;
  /** One more append, so the log gets a new root. */
  const append = () => signupUser(backend, srv.server.url, `logu${++n}`);

  /** A client behind a rewriting (and request-counting) fetch. */
  function client(pins: LogPinStore = new MemoryLogPinStore(), freshMs?: number) {
    const liar = lyingFetch();
    const paths: string[] = [];
    const f: typeof fetch = (input, init) => {
      const url = input instanceof URL ? input : new URL(input as string);
      paths.push(url.pathname);
      return liar.f(input, init);
    };
    const api = new ApiClient({
      baseUrl: srv.server.url,
      backend,
      fetch: f,
      sleep: () => Promise.resolve(),
    });
    const log = new LogClient({
      api,
      backend,
      pins,
      ...(freshMs === undefined ? {} : { freshMs }),
    });
    return { log, api, liar, paths };
  }

  beforeAll(async () => {
    srv = await startTestServer();
    await append();
    await append();
  });
  afterAll(async () => {
    await srv.close();
  });

  it('pins the key and the root in log-pins.json (0600) and needs consistency from it later', async () => {
    const home = await tempHome();
    try {
      const first = client(new FileLogPinStore(home.dir));
      const r1 = await first.log.latest();
      const file = join(home.dir, 'log-pins.json');
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      const saved = JSON.parse(await readFile(file, 'utf8')) as Record<
        string,
        { kid: string; root: SignedLogRootWire }
      >;
      expect(saved[srv.server.url + '/']).toMatchObject({
        kid: r1.signed.kid,
        root: { seqno: r1.seqno },
      });

      await append();
      const second = client(new FileLogPinStore(home.dir));
      const r2 = await second.log.latest();
      expect(r2.seqno).toBeGreaterThan(r1.seqno);
      // The newer root was accepted only with a proof from the pinned one.
      expect(second.paths).toContain('/api/v1/log/consistency');
      const again = JSON.parse(await readFile(file, 'utf8')) as Record<
        string,
        { root: SignedLogRootWire }
      >;
      expect(again[srv.server.url + '/']!.root.seqno).toBe(r2.seqno);
    } finally {
      await home.cleanup();
    }
  });

  it('reuses a verified root for freshMs: a burst of loads costs one request', async () => {
    const c = client(new MemoryLogPinStore(), 60_000);
    await Promise.all(Array.from({ length: 20 }, () => c.log.latest()));
    await c.log.latest();
    expect(c.paths.filter((p) => p === '/api/v1/log/root')).toHaveLength(1);
    // A link's merkle_root asks afresh.
    const m = await c.log.linkMerkleRoot();
    expect(c.paths.filter((p) => p === '/api/v1/log/root')).toHaveLength(2);
    expect(m?.hash_meta).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses a root signed by another key than the pinned one (CLIENT_LOG_KEY_MISMATCH)', async () => {
    const c = client(new MemoryLogPinStore(), 0);
    await c.log.latest();
    const other = backend.ed25519KeyPairFromSeed(backend.randomBytes(32));
    c.liar.state.rewrite = (path, body) => {
      if (path !== '/api/v1/log/root') return body;
      const w = body as SignedLogRootWire;
      const b = JSON.parse(w.payloadJson) as LogRootBody;
      const s = signLogRoot(
        backend,
        b,
        other.secretKey,
        w.leafPath.map((h) => hexToBytes(h)),
      );
      return { ...s, seqno: w.seqno };
    };
    expect(await code(c.log.latest())).toBe('CLIENT_LOG_KEY_MISMATCH');
    // A first contact told the key out of band refuses another one as well.
    const told = new LogClient({
      api: c.api,
      backend,
      rootKid: (await client().log.latest()).signed.kid,
    });
    expect(await code(told.latest())).toBe('CLIENT_LOG_KEY_MISMATCH');
  });

  it('refuses a root older than the one verified (CLIENT_LOG_ROLLBACK)', async () => {
    const c = client(new MemoryLogPinStore(), 0);
    const old = await c.api.logRoot(1);
    await c.log.latest();
    c.liar.state.rewrite = (path, body) => (path === '/api/v1/log/root' ? old : body);
    expect(await code(c.log.latest())).toBe('CLIENT_LOG_ROLLBACK');
  });

  it('refuses a consistency proof that does not hold (CLIENT_LOG_INCONSISTENT)', async () => {
    const c = client(new MemoryLogPinStore(), 0);
    await c.log.latest();
    await append();
    await append();
    c.liar.state.rewrite = (path, body) => {
      if (path !== '/api/v1/log/consistency') return body;
      const b = body as { proof: string[] };
      const proof = [...b.proof];
      proof[0] = toHex(backend.sha256(hexToBytes(proof[0]!)));
      return { ...b, proof };
    };
    expect(await code(c.log.latest())).toBe('CLIENT_LOG_INCONSISTENT');
    c.liar.state.rewrite = null;
    expect((await c.log.latest()).seqno).toBeGreaterThan(2);
  });

  it('catches a fork signed with the server key at the next check (CLIENT_LOG_INCONSISTENT)', async () => {
    const c = client(new MemoryLogPinStore(), 0);
    const pinned = await c.log.latest();
    // The server shows this client another root at the same seqno: same history before it,
    // another map (another set of chain tails), signed with its real key.
    const seed = (await readFile(join(srv.dataDir!, 'log-root-key'), 'utf8')).trim();
    const key = backend.ed25519KeyPairFromSeed(hexToBytes(seed));
    const history = new MemoryLog(backend);
    let prev: string | null = null;
    for (let s = 1; s < pinned.seqno; s++) {
      const w = await c.api.logRoot(s);
      const b = JSON.parse(w.payloadJson) as LogRootBody;
      history.append(logLeafData(b));
      prev = logRootHashMeta(backend, w.payloadJson);
    }
    const body: LogRootBody = {
      seqno: pinned.seqno,
      ctime: pinned.ctime,
      map: toHex(backend.sha512(backend.randomBytes(8))),
      log: '',
      prev,
    };
    body.log = toHex(history.append(logLeafData(body)));
    const forked = signLogRoot(backend, body, key.secretKey, history.inclusion(body.seqno - 1));
    c.liar.state.rewrite = (path, b) =>
      path === '/api/v1/log/root' ? { ...forked, seqno: body.seqno } : b;
    expect(await code(c.log.latest())).toBe('CLIENT_LOG_INCONSISTENT');
    // A client that never saw the real root takes the forked one; the fork shows as soon as
    // it meets the real log again.
    const victim = client(new MemoryLogPinStore(), 0);
    victim.liar.state.rewrite = c.liar.state.rewrite;
    expect((await victim.log.latest()).map).toBe(body.map);
    victim.liar.state.rewrite = null;
    expect(await code(victim.log.latest())).toBe('CLIENT_LOG_INCONSISTENT');
  });

  it("proves a chain's tail, and refuses a map proof that does not lead to the root", async () => {
    const u = await append();
    const c = client();
    const { tail } = await c.log.tailAt(u.uid);
    const last = u.links[u.links.length - 1]!;
    expect(tail).toEqual({ seqno: u.links.length, linkId: last.linkId, eldestKid: u.eldestKid });
    // A proof verified at a root is remembered; a new client asks again.
    const d = client();
    d.liar.state.rewrite = (path, body) => {
      if (path !== '/api/v1/log/proofs') return body;
      const b = body as LogProofsResponse;
      return {
        ...b,
        proofs: b.proofs.map((p) => ({
          ...p,
          proof: { ...p.proof, siblings: p.proof.siblings.slice(1) },
        })),
      };
    };
    expect(await code(d.log.tailAt(u.uid))).toBe('CLIENT_LOG_INVALID');
  });
});
