/**
 * The Vault-transit bridge on real sockets: the recorded transcripts of what Pulumi's
 * hashivault keeper and SOPS send (test/transcripts, reconstructed from the spec's shapes),
 * the conformance suite through a TypeScript hashivault keeper, and every refusal.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  hashivaultKeeper,
  hashivaultOpener,
  newVaultToken,
  parseKeeperUrl,
  saltboxOpener,
  VAULT_MAX_BODY,
  startVaultBridge,
  vaultDecrypter,
  vaultKeeperResolver,
} from '../src/index.js';
import type { VaultBridge } from '../src/index.js';
import { runKeeperConformance } from './conformance.js';
import { startWorld } from './helpers.js';
import {
  fillTranscript as fill,
  rawVault as raw,
  readTranscript as transcript,
} from './vault-wire.js';
import type { KeystoreUser } from './helpers.js';

let world: Awaited<ReturnType<typeof startWorld>>;
let alice: KeystoreUser;
let bob: KeystoreUser;
let aliceBridge: VaultBridge;
let bobBridge: VaultBridge;
const aliceToken = newVaultToken();
const bobToken = newVaultToken();

function bridgeFor(
  me: KeystoreUser,
  token: string,
  listen = '127.0.0.1:0',
  aliases: Record<string, string> = { prod: 'alice,bob' },
) {
  const opener = saltboxOpener({
    directory: me.directory,
    keystore: () => Promise.resolve(me.ks),
    refreshKeys: me.refreshKeys,
  });
  return startVaultBridge({
    listen,
    token,
    keeperFor: vaultKeeperResolver({ opener, aliases }),
    decrypter: vaultDecrypter({ opener, username: me.user.username }),
  });
}

beforeAll(async () => {
  world = await startWorld();
  alice = await world.signup('alice');
  bob = await world.signup('bob');
  aliceBridge = await bridgeFor(alice, aliceToken);
  bobBridge = await bridgeFor(bob, bobToken);
});
afterAll(async () => {
  await aliceBridge.close();
  await bobBridge.close();
  await world.close();
});

describe('recorded transcripts', () => {
  it('Pulumi hashivault: encrypt a 32-byte data key, store encryptedkey, decrypt it back (as alice, then as bob)', async () => {
    const [encReq, decReq] = await transcript('pulumi-hashivault.txt');
    const dataKey = crypto.getRandomValues(new Uint8Array(32));
    const plaintext = Buffer.from(dataKey).toString('base64');
    const e = await raw(aliceBridge.address, fill(encReq!, { token: aliceToken, plaintext }));
    expect(e.status).toBe(200);
    const ciphertext = (e.json as { data: { ciphertext: unknown } }).data.ciphertext;
    expect(typeof ciphertext).toBe('string');
    expect(ciphertext as string).toMatch(/^vault:v1:[A-Za-z0-9+/]+=*$/);
    // Pulumi's stack file: encryptedkey = base64 of the keeper's ciphertext bytes.
    const encryptedkey = Buffer.from(ciphertext as string).toString('base64');
    const back = Buffer.from(encryptedkey, 'base64').toString('utf8');
    for (const [bridge, token] of [
      [aliceBridge, aliceToken],
      [bobBridge, bobToken],
    ] as const) {
      const d = await raw(bridge.address, fill(decReq!, { token, ciphertext: back }));
      expect(d.status).toBe(200);
      const pt = (d.json as { data: { plaintext: unknown } }).data.plaintext;
      expect(typeof pt).toBe('string');
      const bytes = Buffer.from(pt as string, 'base64');
      expect(bytes.length).toBe(32);
      expect(bytes.equals(Buffer.from(dataKey))).toBe(true);
    }
  });

  it('SOPS hc_vault_transit_uri with a config alias (prod = alice,bob)', async () => {
    const [encReq, decReq] = await transcript('sops-hc-vault-transit.txt');
    const dataKey = crypto.getRandomValues(new Uint8Array(32));
    const e = await raw(
      aliceBridge.address,
      fill(encReq!, { token: aliceToken, plaintext: Buffer.from(dataKey).toString('base64') }),
    );
    expect(e.status).toBe(200);
    const enc = (e.json as { data: { ciphertext: string } }).data.ciphertext;
    const d = await raw(bobBridge.address, fill(decReq!, { token: bobToken, ciphertext: enc }));
    expect(d.status).toBe(200);
    const pt = Buffer.from((d.json as { data: { plaintext: string } }).data.plaintext, 'base64');
    expect(pt.equals(Buffer.from(dataKey))).toBe(true);
  });
});

describe('decryption does not depend on the key name (issue 12, defect 20)', () => {
  it('encrypted through an alias that is then removed: the old key name, an unknown one and another list all decrypt', async () => {
    const token = newVaultToken();
    const before = await bridgeFor(bob, token, '127.0.0.1:0', { 'prod-2023': 'alice,bob' });
    const dataKey = crypto.getRandomValues(new Uint8Array(32));
    let ciphertext: string;
    try {
      const k = hashivaultKeeper({ address: before.address, token, keyId: 'prod-2023' });
      ciphertext = Buffer.from(await k.encrypt(dataKey)).toString('utf8');
    } finally {
      await before.close();
    }
    // The alias is renamed: 'prod-2023' is no alias now, and no recipient list either.
    const after = await bridgeFor(bob, token, '127.0.0.1:0', { 'prod-2024': 'alice,bob' });
    try {
      for (const keyName of ['prod-2023', 'never.an-alias', 'alice', 'carol,dave']) {
        const r = await raw(
          after.address,
          [
            `PUT /v1/transit/decrypt/${keyName} HTTP/1.1`,
            'Host: 127.0.0.1',
            `X-Vault-Token: ${token}`,
            'X-Vault-Request: true',
            `Content-Length: ${Buffer.byteLength(JSON.stringify({ ciphertext }))}`,
            '',
            JSON.stringify({ ciphertext }),
          ].join('\r\n'),
        );
        expect(r.status, keyName).toBe(200);
        const pt = Buffer.from(
          (r.json as { data: { plaintext: string } }).data.plaintext,
          'base64',
        );
        expect(pt.equals(Buffer.from(dataKey))).toBe(true);
      }
      // Encryption still needs a name that resolves to recipients.
      const enc = hashivaultKeeper({ address: after.address, token, keyId: 'prod-2023' });
      await expect(enc.encrypt(dataKey)).rejects.toMatchObject({
        details: { status: 400 },
      });
    } finally {
      await after.close();
    }
  });
});

describe('refusals: always a status >= 400 with a JSON errors list, never CORS', () => {
  const body = JSON.stringify({ plaintext: Buffer.from('k').toString('base64') });
  const req = (method: string, path: string, headers: Record<string, string>, b = body) =>
    [
      `${method} ${path} HTTP/1.1`,
      'Host: 127.0.0.1',
      `Content-Length: ${Buffer.byteLength(b)}`,
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
      'Connection: close',
      '',
      b,
    ].join('\r\n');
  const good = () => ({ 'X-Vault-Token': aliceToken, 'X-Vault-Request': 'true' });

  const cases: [string, () => string, number][] = [
    ['no token', () => req('PUT', '/v1/transit/encrypt/alice', { 'X-Vault-Request': 'true' }), 403],
    [
      'a wrong token',
      () =>
        req('PUT', '/v1/transit/encrypt/alice', {
          'X-Vault-Token': bobToken,
          'X-Vault-Request': 'true',
        }),
      403,
    ],
    [
      'no X-Vault-Request',
      () => req('PUT', '/v1/transit/encrypt/alice', { 'X-Vault-Token': aliceToken }),
      412,
    ],
    [
      'an Origin header',
      () => req('PUT', '/v1/transit/encrypt/alice', { ...good(), Origin: 'http://evil.test' }),
      403,
    ],
    ['a CORS preflight', () => req('OPTIONS', '/v1/transit/encrypt/alice', good(), ''), 405],
    ['GET', () => req('GET', '/v1/transit/encrypt/alice', good(), ''), 405],
    ['DELETE', () => req('DELETE', '/v1/transit/encrypt/alice', good(), ''), 405],
    ['..', () => req('PUT', '/v1/transit/encrypt/../../sys/seal', good()), 400],
    ['%2e%2e', () => req('PUT', '/v1/transit/encrypt/%2e%2e', good()), 400],
    ['an encoded slash', () => req('PUT', '/v1/transit/encrypt/alice%2fbob', good()), 400],
    ['a query', () => req('PUT', '/v1/transit/encrypt/alice?x=1', good()), 400],
    ['sys/health', () => req('PUT', '/v1/sys/health', good()), 404],
    ['another engine', () => req('PUT', '/v1/kv/encrypt/alice', good()), 404],
    ['rewrap', () => req('PUT', '/v1/transit/rewrap/alice', good()), 404],
    ['a key path', () => req('PUT', '/v1/transit/encrypt/alice/extra', good()), 404],
    ['a bad key name', () => req('PUT', '/v1/transit/encrypt/al*ce', good()), 400],
    ['non-JSON', () => req('PUT', '/v1/transit/encrypt/alice', good(), 'plaintext=AA'), 400],
    [
      'batch_input',
      () => req('PUT', '/v1/transit/encrypt/alice', good(), '{"batch_input":[]}'),
      400,
    ],
    [
      'unpadded base64',
      () => req('PUT', '/v1/transit/encrypt/alice', good(), '{"plaintext":"aw"}'),
      400,
    ],
    [
      'a ciphertext without vault:v1:',
      () => req('PUT', '/v1/transit/decrypt/alice', good(), '{"ciphertext":"aGVsbG8="}'),
      400,
    ],
    [
      'a garbage ciphertext',
      () => req('PUT', '/v1/transit/decrypt/alice', good(), '{"ciphertext":"vault:v1:aGVsbG8="}'),
      400,
    ],
    ['an unknown user', () => req('PUT', '/v1/transit/encrypt/alice,nosuchuser', good()), 400],
  ];
  for (const [name, build, status] of cases) {
    it(`${name} → ${status}`, async () => {
      const r = await raw(aliceBridge.address, build());
      expect(r.status).toBe(status);
      expect(r.headers).not.toContain('access-control-');
      const errs = (r.json as { errors?: unknown }).errors;
      expect(Array.isArray(errs) && errs.length > 0 && typeof errs[0] === 'string').toBe(true);
      expect(JSON.stringify(r.json)).not.toContain(aliceToken);
    });
  }

  it('listens on loopback only', async () => {
    await expect(bridgeFor(alice, aliceToken, '0.0.0.0:0')).rejects.toMatchObject({
      code: 'InvalidArgument',
    });
  });
});

/**
 * Sends a request head (and `body`, if any) on a real TCP connection without ever sending the
 * rest of what the head declares, and reports the answer, how long it took and whether the
 * bridge then closed the connection.
 */
async function headFirst(
  address: string,
  head: string,
  body: Buffer = Buffer.alloc(0),
): Promise<{ status: number; json: unknown; ms: number; closedByServer: boolean }> {
  const url = new URL(address);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const s = connect(Number(url.port), url.hostname, () => {
      s.write(head);
      if (body.length > 0) s.write(body);
    });
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no complete answer in 5 s (got ${JSON.stringify(buf.toString())})`));
    }, 5_000);
    s.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
    });
    // The bridge ends the connection after a refusal; a bridge waiting for the body would not.
    s.on('end', () => {
      clearTimeout(timer);
      const text = buf.toString('utf8');
      const [h, b = ''] = text.split('\r\n\r\n');
      resolve({
        status: Number(/^HTTP\/1\.1 (\d{3})/.exec(h!)?.[1]),
        json: b === '' ? null : JSON.parse(b),
        ms: Date.now() - started,
        closedByServer: true,
      });
      s.destroy();
    });
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

describe('the head is judged before the body is read (issue 12, defect 18)', () => {
  const head = (token: string, lines: string[]) =>
    [
      'PUT /v1/transit/encrypt/alice HTTP/1.1',
      'Host: 127.0.0.1',
      `X-Vault-Token: ${token}`,
      'X-Vault-Request: true',
      ...lines,
      '',
      '',
    ].join('\r\n');

  it('a wrong token with a 1 GiB body declared: 403 at once, the connection closed, the body never awaited', async () => {
    const r = await headFirst(aliceBridge.address, head(bobToken, ['Content-Length: 1073741824']));
    expect(r.status).toBe(403);
    expect(r.json).toEqual({ errors: ['permission denied'] });
    expect(r.closedByServer).toBe(true);
    expect(r.ms).toBeLessThan(2_000);
  });

  it('no token, 60 connections each declaring a 4 MiB body and sending 64 KiB of it: all 403 without the rest being waited for', async () => {
    const part = Buffer.alloc(64 * 1024, 0x7b);
    const answers = await Promise.all(
      Array.from({ length: 60 }, () =>
        headFirst(
          aliceBridge.address,
          head('', [`Content-Length: ${VAULT_MAX_BODY}`]).replace('X-Vault-Token: \r\n', ''),
          part,
        ),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(Array.from({ length: 60 }, () => 403));
  });

  it('the right token with a declared body over the limit: 413 before the body is sent', async () => {
    const r = await headFirst(
      aliceBridge.address,
      head(aliceToken, [`Content-Length: ${VAULT_MAX_BODY + 1}`]),
    );
    expect(r.status).toBe(413);
    expect(r.json).toEqual({ errors: ['request body too large'] });
    expect(r.ms).toBeLessThan(2_000);
  });

  it('the right token with a chunked body growing past the limit: 413 once the limit is passed', async () => {
    const chunk = Buffer.alloc(1024 * 1024, 0x20);
    const chunked = Buffer.concat(
      Array.from({ length: 5 }, () =>
        Buffer.concat([
          Buffer.from(`${chunk.length.toString(16)}\r\n`),
          chunk,
          Buffer.from('\r\n'),
        ]),
      ),
    );
    const r = await headFirst(
      aliceBridge.address,
      head(aliceToken, ['Transfer-Encoding: chunked']),
      chunked,
    );
    expect(r.status).toBe(413);
    expect(r.json).toEqual({ errors: ['request body too large'] });
  });

  it('Expect: 100-continue gets no 100 with a wrong token, and a 100 then the answer with the right one', async () => {
    const refused = await headFirst(
      aliceBridge.address,
      head(bobToken, ['Content-Length: 100', 'Expect: 100-continue']),
    );
    expect(refused.status).toBe(403);
    const body = JSON.stringify({ plaintext: Buffer.from('k').toString('base64') });
    const url = new URL(aliceBridge.address);
    const text = await new Promise<string>((resolve, reject) => {
      const s = connect(Number(url.port), url.hostname, () => {
        s.write(
          head(aliceToken, [
            `Content-Length: ${Buffer.byteLength(body)}`,
            'Expect: 100-continue',
            'Connection: close',
          ]),
        );
      });
      let buf = '';
      let sent = false;
      s.on('data', (c: Buffer) => {
        buf += c.toString();
        if (!sent && buf.startsWith('HTTP/1.1 100 Continue\r\n\r\n')) {
          sent = true;
          s.write(body);
        }
      });
      s.on('end', () => {
        resolve(buf);
      });
      s.on('error', reject);
    });
    expect(text).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /);
  });
});

describe('a Unix socket, and the keeper conformance suite through the bridge', () => {
  it('serves on a 0600 Unix socket reached with VAULT_ADDR=unix://…', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'saltbox-vault-'));
    const bridge = await bridgeFor(alice, aliceToken, join(dir, 'vault.sock'));
    try {
      expect(bridge.address).toBe(`unix://${join(dir, 'vault.sock')}`);
      expect((await stat(join(dir, 'vault.sock'))).mode & 0o777).toBe(0o600);
      const k = await hashivaultOpener({ VAULT_ADDR: bridge.address, VAULT_TOKEN: aliceToken })(
        parseKeeperUrl('hashivault://alice,bob'),
      );
      const key = crypto.getRandomValues(new Uint8Array(32));
      expect(Buffer.from(await k.decrypt(await k.encrypt(key))).equals(Buffer.from(key))).toBe(
        true,
      );
    } finally {
      await bridge.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a socket path holding a file, a directory or a live socket is left alone and refused; a stale socket is replaced', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'saltbox-vault-'));
    // The bridge's probe connects and hangs up at once: a reset this server must survive.
    const live = createServer((c) => {
      c.on('error', () => undefined);
      c.end('still here');
    });
    try {
      const file = join(dir, 'precious.txt');
      await writeFile(file, 'do not delete me');
      const sub = join(dir, 'a-directory');
      await mkdir(sub);
      const liveSocket = join(dir, 'live.sock');
      await new Promise<void>((resolve) => live.listen(liveSocket, resolve));
      for (const [path, found] of [
        [file, 'a regular file'],
        [sub, 'a directory'],
        [liveSocket, 'a live socket'],
      ] as const) {
        await expect(bridgeFor(alice, aliceToken, path)).rejects.toMatchObject({
          code: 'AlreadyExists',
          reason: 'PROVIDER_VAULT_PATH_TAKEN',
          details: { path, found },
          message: expect.stringContaining(`the vault bridge cannot listen on ${path}`) as string,
        });
      }
      expect(await readFile(file, 'utf8')).toBe('do not delete me');
      expect((await stat(sub)).isDirectory()).toBe(true);
      const answer = await new Promise<string>((resolve, reject) => {
        const c = connect(liveSocket);
        let got = '';
        c.on('data', (d: Buffer) => (got += d.toString()));
        c.on('end', () => {
          resolve(got);
        });
        c.on('error', reject);
      });
      expect(answer).toBe('still here');

      // A socket whose process was killed (SIGKILL: no cleanup) is stale: replaced.
      const stale = join(dir, 'stale.sock');
      const owner = spawn(
        process.execPath,
        [
          '-e',
          `require('node:net').createServer().listen(${JSON.stringify(stale)}, () => console.log('up'))`,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      await new Promise<void>((resolve) =>
        owner.stdout.once('data', () => {
          resolve();
        }),
      );
      const gone = new Promise((r) => owner.once('exit', r));
      owner.kill('SIGKILL');
      await gone;
      expect((await stat(stale)).isSocket()).toBe(true);
      const bridge = await bridgeFor(alice, aliceToken, stale);
      try {
        const k = hashivaultKeeper({ address: bridge.address, token: aliceToken, keyId: 'alice' });
        const key = crypto.getRandomValues(new Uint8Array(32));
        expect(Buffer.from(await k.decrypt(await k.encrypt(key))).equals(Buffer.from(key))).toBe(
          true,
        );
      } finally {
        await bridge.close();
      }
    } finally {
      await new Promise((r) => live.close(r));
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a locked keystore answers 503 naming saltbox unlock', async () => {
    const carol = await world.signup('carol');
    const token = newVaultToken();
    const bridge = await bridgeFor(carol, token);
    try {
      const k = hashivaultKeeper({ address: bridge.address, token, keyId: 'carol' });
      const ct = await k.encrypt(new Uint8Array(32));
      await carol.ks.lock();
      const e = await k.decrypt(ct).catch((x: unknown) => x as { code: string; details: object });
      expect(e).toMatchObject({ code: 'FailedPrecondition', details: { status: 503 } });
      expect(JSON.stringify(e)).toContain('saltbox unlock');
    } finally {
      await bridge.close();
    }
  });
});

runKeeperConformance('hashivault:// through the Vault bridge (TCP)', () =>
  Promise.resolve({
    keeper: hashivaultKeeper({
      address: aliceBridge.address,
      token: aliceToken,
      keyId: 'alice,bob',
    }),
  }),
);
