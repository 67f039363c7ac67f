/**
 * age-plugin-saltbox driven by Debian's real `age` binary (installed by
 * scripts/ensure-age.sh when missing): `age -r age1saltbox1…` wraps the file key to saltbox
 * users through the plugin, `age -d -i <identity file>` unwraps it through each user's
 * keystore agent (a real agent on a Unix socket).
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent } from '@saltbox/keystore/node';
import type { Agent } from '@saltbox/keystore/node';
import {
  StanzaReader,
  ageIdentity,
  ageRecipient,
  bech32Decode,
  bech32Encode,
  encodeStanza,
  parseAgeRecipient,
} from '../src/index.js';
import { startWorld } from './helpers.js';
import type { KeystoreUser } from './helpers.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const repo = join(here, '../../..');

let world: Awaited<ReturnType<typeof startWorld>>;
let dir: string;
const users = new Map<string, { u: KeystoreUser; agent: Agent; home: string; socket: string }>();

beforeAll(async () => {
  execFileSync('sh', [join(here, '../scripts/ensure-age.sh')], { stdio: 'inherit' });
  world = await startWorld();
  dir = await mkdtemp(join(tmpdir(), 'saltbox-age-'));
  // The plugin binary age finds on PATH: the fixture under tsx, with source conditions.
  const bin = join(dir, 'bin');
  await rm(bin, { recursive: true, force: true });
  await import('node:fs/promises').then((fs) => fs.mkdir(bin));
  const plugin = join(bin, 'age-plugin-saltbox');
  await writeFile(
    plugin,
    `#!/bin/sh\nexec "${process.execPath}" --conditions=source --import "${join(repo, 'node_modules/tsx/dist/loader.mjs')}" "${join(here, 'fixtures/age-plugin-fixture.ts')}" "$@"\n`,
  );
  await chmod(plugin, 0o755);
  for (const name of ['alice', 'bob', 'carol']) {
    const u = await world.signup(name);
    const home = join(dir, name);
    const socket = join(home, 'agent.sock');
    const agent = await startAgent({ socketPath: socket, keystore: u.ks });
    users.set(name, { u, agent, home, socket });
  }
});
afterAll(async () => {
  for (const { agent } of users.values()) await agent.stop();
  await world.close();
  await rm(dir, { recursive: true, force: true });
});

function age(
  as: string,
  args: string[],
  input: Uint8Array | string,
): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  const who = users.get(as)!;
  return new Promise((resolve, reject) => {
    const child = spawn('age', args, {
      env: {
        PATH: `${join(dir, 'bin')}:${process.env.PATH ?? ''}`,
        SALTBOX_HOME: who.home,
        SALTBOX_TEST_CONFIG: JSON.stringify({
          version: 1,
          server: world.url,
          username: as,
          uid: who.u.user.uid,
          device: {
            id: who.u.device.id,
            name: 'test',
            type: 'desktop',
            signingKid: who.u.device.kid,
            encryptionKid: who.u.device.encKid,
          },
          oneshot: false,
        }),
        SALTBOX_TEST_SOCKET: who.socket,
      },
    });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      resolve({ code, stdout: Buffer.concat(out), stderr: err });
    });
    child.stdin.end(input);
  });
}

async function identityFile(name: string): Promise<string> {
  const path = join(dir, `${name}.identity`);
  await writeFile(path, `# saltbox identity for ${name}\n${ageIdentity(name)}\n`, { mode: 0o600 });
  return path;
}

describe('recipients, identities and framing', () => {
  it('recipients are age1saltbox1… Bech32 of the recipient label; identities AGE-PLUGIN-SALTBOX-1…', () => {
    const r = ageRecipient('alice');
    expect(r.startsWith('age1saltbox1')).toBe(true);
    expect(parseAgeRecipient(r)).toEqual({ kind: 'user', name: 'alice' });
    expect(parseAgeRecipient(ageRecipient('team:acme'))).toEqual({ kind: 'team', name: 'acme' });
    expect(ageIdentity('alice').startsWith('AGE-PLUGIN-SALTBOX-1')).toBe(true);
    expect(() => parseAgeRecipient(r.slice(0, -1) + (r.endsWith('q') ? 'p' : 'q'))).toThrow(
      /checksum/,
    );
    expect(() =>
      parseAgeRecipient(bech32Encode('age1saltbox', new TextEncoder().encode('a$b'))),
    ).toThrow();
    expect(() => ageRecipient('alice,bob')).toThrow();
    // BIP 173's valid test string.
    expect(bech32Decode('A12UEL5L').hrp).toBe('a');
  });

  it('stanza bodies wrap at 64 columns and end with a short line', async () => {
    for (const n of [0, 16, 48, 200]) {
      const body = crypto.getRandomValues(new Uint8Array(n));
      const text = encodeStanza({ command: 'x', args: ['1', 'y'], body });
      const lines = text.split('\n');
      expect(lines.every((l) => l.length <= 64 || l.startsWith('->'))).toBe(true);
      const s = await new StanzaReader(Readable.from([text])).next();
      expect(s.command).toBe('x');
      expect(s.args).toEqual(['1', 'y']);
      expect(Buffer.from(s.body).equals(Buffer.from(body))).toBe(true);
    }
  });
});

describe('with the real age binary', () => {
  it('alice encrypts to alice and bob; both decrypt through their own keystore agent; carol cannot', async () => {
    const secret = 'a secret for age\n'.repeat(100);
    const enc = await age(
      'alice',
      ['-r', ageRecipient('alice'), '-r', ageRecipient('bob'), '-a'],
      secret,
    );
    // age may print "waiting on saltbox plugin..." while the plugin starts; nothing else.
    const noise = (t: string) => t.replace(/^age: waiting on saltbox plugin\.\.\.\n/gm, '');
    expect(noise(enc.stderr)).toBe('');
    expect(enc.code).toBe(0);
    const armored = enc.stdout.toString();
    expect(armored.startsWith('-----BEGIN AGE ENCRYPTED FILE-----')).toBe(true);
    for (const name of ['alice', 'bob']) {
      const dec = await age(name, ['-d', '-i', await identityFile(name)], armored);
      expect([name, dec.code, noise(dec.stderr)]).toEqual([name, 0, '']);
      expect(dec.stdout.toString()).toBe(secret);
    }
    const no = await age('carol', ['-d', '-i', await identityFile('carol')], armored);
    expect(no.code).not.toBe(0);
    expect(no.stdout.length).toBe(0);
  });

  it('a locked keystore makes decryption fail with a message naming saltbox unlock', async () => {
    const enc = await age('alice', ['-r', ageRecipient('bob')], 'x');
    expect(enc.code).toBe(0);
    await users.get('bob')!.u.ks.lock();
    try {
      const dec = await age('bob', ['-d', '-i', await identityFile('bob')], enc.stdout);
      expect(dec.code).not.toBe(0);
      expect(dec.stderr).toContain('saltbox unlock');
    } finally {
      await users.get('bob')!.u.ks.unlock({ passphrase: 'correct horse battery staple' });
    }
  });

  it('an unknown user is refused at encryption and nothing is written', async () => {
    const enc = await age('alice', ['-r', ageRecipient('nosuchuser')], 'x');
    expect(enc.code).not.toBe(0);
    expect(enc.stdout.length).toBe(0);
    expect(enc.stderr).toContain('no such user');
  });
});
