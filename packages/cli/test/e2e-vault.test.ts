/**
 * The Vault-transit bridge end to end with real accounts (issue 7 item 5): a `saltbox server`
 * process (SQLite), alice and bob signed up by the real CLI in homes of their own, their agents
 * started with `saltbox agent start --vault-listen` (alice on TCP, bob on a Unix socket, later
 * on TCP for SOPS), `saltbox pulumi env` / `saltbox sops env` parsed, and exactly the requests
 * Pulumi's hashivault keeper and SOPS send (the recorded transcripts of packages/provider, spec
 * §2.4 and §3.7) over real sockets. Then `saltbox rewrap --stack` on a Pulumi stack file whose
 * data key was made for alice only, and a team rotation (`saltbox team remove`, another
 * process) reaching the running bridge's next encryption to the team within its cache TTL.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fillTranscript, rawVault, readTranscript } from '../../provider/test/vault-wire.js';
import type { VaultAnswer } from '../../provider/test/vault-wire.js';
import { accountHomes, ensureBuilt, ok, runAs, startAccountServer } from './helpers.js';
import type { AccountHome } from './helpers.js';

let server: { url: string; stop: () => Promise<void> } | undefined;
const { newHome, cleanup } = accountHomes();
const alice = newHome();
const bob = newHome();
const carol = newHome();

beforeAll(async () => {
  await ensureBuilt();
  server = await startAccountServer();
}, 120_000);

afterAll(async () => {
  // Normally stopped by the last test already; this only catches a failed run.
  for (const h of [alice, bob, carol]) await runAs(h, ['agent', 'stop']);
  await server?.stop();
  cleanup();
});

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

/** `export NAME='value'` lines (what `eval "$(…)"` runs) as an object. */
function parseExports(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.trim().split('\n')) {
    const m = /^export ([A-Z_]+)='([^']*)'$/.exec(line);
    if (!m) throw new Error(`not an export line: ${line}`);
    out[m[1]!] = m[2]!;
  }
  return out;
}

interface Bridge {
  addr: string;
  token: string;
}

/** `agent start --vault-listen LISTEN`, `unlock`, then what `pulumi env` tells Pulumi. */
async function startBridge(home: AccountHome, listen: string): Promise<Bridge> {
  ok(await runAs(home, ['agent', 'start', '--vault-listen', listen]));
  ok(await runAs(home, ['unlock']));
  const env = parseExports(ok(await runAs(home, ['pulumi', 'env'])).out);
  expect(Object.keys(env).sort()).toEqual(['VAULT_ADDR', 'VAULT_TOKEN']);
  return { addr: env.VAULT_ADDR!, token: env.VAULT_TOKEN! };
}

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
const [pulumiEncrypt, pulumiDecrypt] = await readTranscript('pulumi-hashivault.txt');
const [sopsEncrypt, sopsDecrypt] = await readTranscript('sops-hc-vault-transit.txt');
/** A Pulumi request for another `hashivault://<key>` than the transcript's `alice,bob`. */
const forKey = (template: string, key: string) =>
  template.replace(/^(PUT \/v1\/transit\/\w+\/)alice,bob /, `$1${key} `);

function ciphertextOf(a: VaultAnswer): string {
  expect(a.status).toBe(200);
  const ct = (a.json as { data: { ciphertext: unknown } }).data.ciphertext;
  expect(typeof ct).toBe('string');
  expect(ct as string).toMatch(/^vault:v1:[A-Za-z0-9+/]+=*$/);
  return ct as string;
}

function plaintextOf(a: VaultAnswer): Buffer {
  expect(a.status).toBe(200);
  const pt = (a.json as { data: { plaintext: unknown } }).data.plaintext;
  expect(typeof pt).toBe('string');
  return Buffer.from(pt as string, 'base64');
}

/** Pulumi's config secret format: `v1:<base64 nonce>:<base64 AES-256-GCM ciphertext+tag>`. */
function pulumiSecure(dataKey: Uint8Array, value: string): string {
  const nonce = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', dataKey, nonce);
  const ct = Buffer.concat([c.update(value, 'utf8'), c.final(), c.getAuthTag()]);
  return `v1:${b64(nonce)}:${b64(ct)}`;
}

function pulumiOpen(dataKey: Uint8Array, secure: string): string {
  const [, nonce, body] = secure.split(':');
  const ct = Buffer.from(body!, 'base64');
  const d = createDecipheriv('aes-256-gcm', dataKey, Buffer.from(nonce!, 'base64'));
  d.setAuthTag(ct.subarray(ct.length - 16));
  return Buffer.concat([d.update(ct.subarray(0, ct.length - 16)), d.final()]).toString('utf8');
}

describe('the vault bridge with real accounts', { timeout: 600_000 }, () => {
  let aliceBridge: Bridge;
  let bobBridge: Bridge;
  let alicePort = 0;

  it('signup, agents with --vault-listen on TCP and on a Unix socket, pulumi env and sops env', async () => {
    for (const [home, name] of [
      [alice, 'alice'],
      [bob, 'bob'],
    ] as const) {
      ok(await runAs(home, ['signup', name, '--server', server!.url]));
      // The SOPS alias, as both would configure it, and a team (read when the bridge starts).
      writeFileSync(
        join(home.dir, 'vault-keys.json'),
        JSON.stringify({ prod: 'alice,bob', acme: 'team:acme', 'prod-2023': 'alice,bob' }),
      );
    }
    alicePort = await freePort();
    aliceBridge = await startBridge(alice, `127.0.0.1:${alicePort}`);
    expect(aliceBridge.addr).toBe(`http://127.0.0.1:${alicePort}`);
    expect(aliceBridge.token).toMatch(/^sbx\.[A-Za-z0-9_-]{43}$/);
    expect(statSync(join(alice.dir, 'vault-bridge.json')).mode & 0o777).toBe(0o600);

    const socket = join(bob.dir, 'vault.sock');
    bobBridge = await startBridge(bob, socket);
    expect(bobBridge.addr).toBe(`unix://${socket}`);
    expect(statSync(socket).mode & 0o777).toBe(0o600);
    expect(bobBridge.token).not.toBe(aliceBridge.token);

    // SOPS cannot dial a Unix socket: bob's sops env says so and how to fix it.
    const refused = await runAs(bob, ['sops', 'env', 'prod']);
    expect(refused.code).toBe(1);
    expect(refused.out).toBe('');
    expect(refused.stderr).toContain('SOPS needs the vault bridge on TCP');
    expect(refused.stderr).toContain(
      "hint: restart the agent with '--vault-listen 127.0.0.1:8200'",
    );

    const sops = parseExports(ok(await runAs(alice, ['sops', 'env', 'prod'])).out);
    expect(sops).toEqual({
      VAULT_TOKEN: aliceBridge.token,
      SOPS_VAULT_URIS: `http://127.0.0.1:${alicePort}/v1/transit/keys/prod`,
    });
    // #12.9: no alias "staging" and no user "staging": an error naming the alias file, no URI.
    const unknown = await runAs(alice, ['sops', 'env', 'staging']);
    expect(unknown.code).toBe(1);
    expect(unknown.out).toBe('');
    expect(unknown.stderr).toContain('"staging" is not an alias in');
    expect(unknown.stderr).toContain('vault-keys.json');
    expect(unknown.stderr).toContain('hint: define the alias there');
    // Recipients that exist need no alias: the bridge reads the name the same way.
    const direct = parseExports(ok(await runAs(alice, ['sops', 'env', 'alice,bob'])).out);
    expect(direct.SOPS_VAULT_URIS).toBe(`http://127.0.0.1:${alicePort}/v1/transit/keys/alice,bob`);
  });

  it("Pulumi's hashivault requests: encrypt to alice,bob; alice (TCP) and bob (Unix socket) decrypt; a wrong token is 403", async () => {
    const dataKey = randomBytes(32);
    const ct = ciphertextOf(
      await rawVault(
        aliceBridge.addr,
        fillTranscript(pulumiEncrypt!, { token: aliceBridge.token, plaintext: b64(dataKey) }),
      ),
    );
    // Pulumi stores base64 of the keeper's ciphertext bytes as encryptedkey, and sends the
    // decoded string back on every run.
    const encryptedkey = Buffer.from(ct).toString('base64');
    const back = Buffer.from(encryptedkey, 'base64').toString('utf8');
    for (const b of [aliceBridge, bobBridge]) {
      const pt = plaintextOf(
        await rawVault(
          b.addr,
          fillTranscript(pulumiDecrypt!, { token: b.token, ciphertext: back }),
        ),
      );
      expect(pt.length).toBe(32);
      expect(pt.equals(dataKey)).toBe(true);
    }
    // Each bridge accepts its own session token only: Vault's 403 and errors body, no CORS.
    for (const [b, wrong] of [
      [aliceBridge, bobBridge.token],
      [bobBridge, aliceBridge.token],
      // One character changed (never to itself: a token may end in 'A').
      [
        aliceBridge,
        `${aliceBridge.token.slice(0, -1)}${aliceBridge.token.endsWith('A') ? 'B' : 'A'}`,
      ],
    ] as const) {
      const r = await rawVault(
        b.addr,
        fillTranscript(pulumiDecrypt!, { token: wrong, ciphertext: back }),
      );
      expect(r.status).toBe(403);
      expect(r.json).toEqual({ errors: ['permission denied'] });
      expect(r.headers).not.toContain('access-control-');
    }
  });

  it('SOPS requests through the alias: alice encrypts at the URI sops env gave; bob decrypts over TCP', async () => {
    const env = parseExports(ok(await runAs(alice, ['sops', 'env', 'prod'])).out);
    // What SOPS does with the URI: address, engine path and key name.
    const m = /^(http:\/\/[^/]+)\/v1\/(.+)\/keys\/([^/]+)$/.exec(env.SOPS_VAULT_URIS!);
    expect(m?.slice(2)).toEqual(['transit', 'prod']);
    const dataKey = randomBytes(32);
    const enc = ciphertextOf(
      await rawVault(
        m![1]!,
        fillTranscript(sopsEncrypt!, { token: env.VAULT_TOKEN!, plaintext: b64(dataKey) }),
      ),
    );
    // bob moves his bridge to TCP, as SOPS needs; the new agent has a new token.
    ok(await runAs(bob, ['agent', 'stop']));
    const oldToken = bobBridge.token;
    bobBridge = await startBridge(bob, `127.0.0.1:${await freePort()}`);
    expect(bobBridge.token).not.toBe(oldToken);
    const bobEnv = parseExports(ok(await runAs(bob, ['sops', 'env', 'prod'])).out);
    expect(bobEnv.VAULT_TOKEN).toBe(bobBridge.token);
    const bobAddr = /^(http:\/\/[^/]+)\//.exec(bobEnv.SOPS_VAULT_URIS!)![1]!;
    const pt = plaintextOf(
      await rawVault(
        bobAddr,
        fillTranscript(sopsDecrypt!, { token: bobEnv.VAULT_TOKEN!, ciphertext: enc }),
      ),
    );
    expect(pt.equals(dataKey)).toBe(true);
  });

  it('decryption ignores the key name: after bob renames the alias a file was made with, the old name and unknown names still decrypt it', async () => {
    const dataKey = randomBytes(32);
    const ct = ciphertextOf(
      await rawVault(
        aliceBridge.addr,
        fillTranscript(forKey(pulumiEncrypt!, 'prod-2023'), {
          token: aliceBridge.token,
          plaintext: b64(dataKey),
        }),
      ),
    );
    // bob renames the alias (read when the bridge starts, so he restarts his agent):
    // 'prod-2023' is now neither an alias nor a recipient list.
    writeFileSync(
      join(bob.dir, 'vault-keys.json'),
      JSON.stringify({ prod: 'alice,bob', acme: 'team:acme', 'prod-2024': 'alice,bob' }),
    );
    ok(await runAs(bob, ['agent', 'stop']));
    bobBridge = await startBridge(bob, `127.0.0.1:${await freePort()}`);
    for (const key of ['prod-2023', 'gone.alias-v1', 'prod-2024']) {
      const pt = plaintextOf(
        await rawVault(
          bobBridge.addr,
          fillTranscript(forKey(pulumiDecrypt!, key), { token: bobBridge.token, ciphertext: ct }),
        ),
      );
      expect(pt.equals(dataKey)).toBe(true);
    }
    // Encrypting still needs a name that says whom to: the removed alias is refused.
    const refused = await rawVault(
      bobBridge.addr,
      fillTranscript(forKey(pulumiEncrypt!, 'prod-2023'), {
        token: bobBridge.token,
        plaintext: b64(dataKey),
      }),
    );
    expect(refused.status).toBe(400);
  });

  it('rewrap --stack: an encryptedkey made for alice only is rewrapped to alice,bob; the rest is unchanged', async () => {
    const dataKey = randomBytes(32);
    const ct = ciphertextOf(
      await rawVault(
        aliceBridge.addr,
        fillTranscript(forKey(pulumiEncrypt!, 'alice'), {
          token: aliceBridge.token,
          plaintext: b64(dataKey),
        }),
      ),
    );
    const stack = join(alice.dir, 'Pulumi.dev.yaml');
    const original = [
      'secretsprovider: hashivault://alice',
      `encryptedkey: ${Buffer.from(ct).toString('base64')}`,
      'config:',
      '  demo:dbPassword:',
      `    secure: ${pulumiSecure(dataKey, 's3cret')}`,
      '  demo:region: eu-west-1',
      '',
    ].join('\n');
    writeFileSync(stack, original);
    chmodSync(stack, 0o640);
    const inode = statSync(stack).ino;
    const keyOf = (text: string) =>
      Buffer.from(/^encryptedkey: (\S+)$/m.exec(text)![1]!, 'base64').toString('utf8');
    const decryptAs = (b: Bridge, text: string) =>
      rawVault(b.addr, fillTranscript(pulumiDecrypt!, { token: b.token, ciphertext: keyOf(text) }));

    // Before: bob is no recipient (PermissionDenied → 403).
    const denied = await decryptAs(bobBridge, original);
    expect(denied.status).toBe(403);
    expect((denied.json as { errors: string[] }).errors[0]).toContain('is a recipient');

    const r = ok(
      await runAs(alice, ['rewrap', '--to', 'alice,bob', '--stack', '-i', stack, '-o', stack]),
    );
    expect(r.out).toBe('');
    const after = readFileSync(stack, 'utf8');
    const withoutKey = (text: string) => text.replace(/^encryptedkey: .*$/m, '');
    expect(withoutKey(after)).toBe(withoutKey(original));
    expect(keyOf(after)).not.toBe(keyOf(original));
    expect(keyOf(after)).toMatch(/^vault:v1:/);
    // Written atomically (a new file renamed over the old), keeping the file's mode.
    expect(statSync(stack).ino).not.toBe(inode);
    expect(statSync(stack).mode & 0o777).toBe(0o640);
    expect(readdirSync(alice.dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    // bob opens the same data key now, and with it the config secret; so does alice.
    for (const b of [bobBridge, aliceBridge]) {
      const key = plaintextOf(await decryptAs(b, after));
      expect(key.equals(dataKey)).toBe(true);
      const secure = /^ {4}secure: (\S+)$/m.exec(after)![1]!;
      expect(pulumiOpen(key, secure)).toBe('s3cret');
    }

    // A new output file is 0600.
    const copy = join(alice.dir, 'Pulumi.copy.yaml');
    ok(await runAs(alice, ['rewrap', '--to', 'alice,bob', '--stack', '-i', stack, '-o', copy]));
    expect(statSync(copy).mode & 0o777).toBe(0o600);
    expect(
      plaintextOf(await decryptAs(bobBridge, readFileSync(copy, 'utf8'))).equals(dataKey),
    ).toBe(true);
  });

  it('a team member removed by `saltbox team remove` cannot read what the running bridge encrypts to the team next (within cache_ttl)', async () => {
    ok(await runAs(carol, ['signup', 'carol', '--server', server!.url]));
    const carolBridge = await startBridge(carol, `127.0.0.1:${await freePort()}`);
    ok(await runAs(alice, ['team', 'create', 'acme']));
    ok(await runAs(alice, ['team', 'add', 'acme', 'bob']));
    ok(await runAs(alice, ['team', 'add', 'acme', 'carol']));
    const toAcme = async (dataKey: Uint8Array) =>
      ciphertextOf(
        await rawVault(
          aliceBridge.addr,
          fillTranscript(forKey(pulumiEncrypt!, 'acme'), {
            token: aliceBridge.token,
            plaintext: b64(dataKey),
          }),
        ),
      );
    const decryptAt = (b: Bridge, ciphertext: string) =>
      rawVault(b.addr, fillTranscript(pulumiDecrypt!, { token: b.token, ciphertext }));

    // alice's bridge keeps its keeper (and its key cache, default cache_ttl a day) for the
    // agent's life; the first encryption caches the team's generation-1 key.
    const before = randomBytes(32);
    const ct1 = await toAcme(before);
    for (const b of [bobBridge, carolBridge])
      expect(plaintextOf(await decryptAt(b, ct1)).equals(before)).toBe(true);

    // Another process on alice's machine removes carol: the team key rotates to generation 2.
    const removed = JSON.parse(
      ok(await runAs(alice, ['team', 'remove', 'acme', 'carol', '--json'])).out,
    ) as { generation: number };
    expect(removed.generation).toBe(2);

    const after = randomBytes(32);
    const ct2 = await toAcme(after);
    const denied = await decryptAt(carolBridge, ct2);
    expect(denied.status).toBe(403);
    expect((denied.json as { errors: string[] }).errors[0]).toContain('is a recipient');
    for (const b of [bobBridge, aliceBridge])
      expect(plaintextOf(await decryptAt(b, ct2)).equals(after)).toBe(true);
    // What was made before still opens for the remaining members.
    expect(plaintextOf(await decryptAt(bobBridge, ct1)).equals(before)).toBe(true);
    ok(await runAs(carol, ['agent', 'stop']));
  });

  it('after saltbox logout the running bridge answers 503 not logged in', async () => {
    ok(await runAs(alice, ['logout']));
    const r = await rawVault(
      aliceBridge.addr,
      fillTranscript(pulumiEncrypt!, { token: aliceBridge.token, plaintext: b64(randomBytes(32)) }),
    );
    expect(r.status).toBe(503);
    expect(r.json).toEqual({
      errors: [
        `not logged in (no account in ${alice.dir}): run 'saltbox signup' or 'saltbox login'`,
      ],
    });
  });

  it('agent stop closes the bridge: the record is gone, the port refuses, pulumi env says what to do', async () => {
    for (const home of [alice, bob]) {
      ok(await runAs(home, ['agent', 'stop']));
      expect(existsSync(join(home.dir, 'vault-bridge.json'))).toBe(false);
    }
    // bob is still logged in: start a bridge. alice logged out: that first.
    const bobEnv = await runAs(bob, ['pulumi', 'env']);
    expect(bobEnv.code).toBe(1);
    expect(bobEnv.out).toBe('');
    expect(bobEnv.stderr).toContain('the keystore agent serves no vault bridge');
    expect(bobEnv.stderr).toContain('--vault-listen');
    const aliceEnv = await runAs(alice, ['pulumi', 'env']);
    expect(aliceEnv.code).toBe(3);
    expect(aliceEnv.stderr).toContain('not logged in');
    await expect(
      rawVault(
        aliceBridge.addr,
        fillTranscript(pulumiDecrypt!, { token: aliceBridge.token, ciphertext: 'vault:v1:AA==' }),
      ),
    ).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
