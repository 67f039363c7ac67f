/**
 * The agent: socket permissions, lifecycle, concurrent clients, malformed input, and an agent
 * killed in the middle of requests (clients get KEYSTORE_TRANSPORT, the store stays intact).
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { stat, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultBackend } from '@saltbox/saltpack';
import { concatBytes, utf8 } from '@saltbox/saltpack/encoding';
import { SIGNATURE_PREFIXES, kidPublicKey, memoryStore, openKeystore } from '@saltbox/keystore';
import { connectAgent, openFileKeystore, startAgent } from '@saltbox/keystore/node';
import { expectCode } from './conformance.js';
import { CHEAP_KDF, fixture, tempDir } from './helpers.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});
async function dir(): Promise<string> {
  const d = await tempDir();
  cleanup.push(() => d.remove());
  return d.path;
}

describe('agent', () => {
  it('listens on a 0600 socket in a 0700 directory and refuses a second agent', async () => {
    const d = await dir();
    const socketPath = join(d, 'run', 'agent.sock');
    const agent = await startAgent({ socketPath, keystoreDir: join(d, 'ks'), kdf: CHEAP_KDF });
    cleanup.push(() => agent.stop());
    expect((await stat(socketPath)).mode & 0o777).toBe(0o600);
    expect((await stat(join(d, 'run'))).mode & 0o777).toBe(0o700);
    await expectCode(
      startAgent({ socketPath, keystoreDir: join(d, 'ks') }),
      'KEYSTORE_AGENT_RUNNING',
    );
    const c = await connectAgent(socketPath);
    const st = await c.agentStatus();
    expect(st).toMatchObject({ pid: process.pid, socketPath, connections: 1 });
    expect((await c.status()).state).toBe('uninitialized');
    await c.stopAgent();
    await agent.stopped;
    await expectCode(connectAgent(socketPath), 'KEYSTORE_AGENT_NOT_RUNNING');
    await expectCode(c.status(), 'KEYSTORE_TRANSPORT');
  });

  it('replaces a stale socket file left by a dead agent', async () => {
    const d = await dir();
    const socketPath = join(d, 'agent.sock');
    await writeFile(socketPath, ''); // not a live socket
    const agent = await startAgent({ socketPath, keystoreDir: join(d, 'ks') });
    cleanup.push(() => agent.stop());
    const c = await connectAgent(socketPath);
    expect((await c.status()).state).toBe('uninitialized');
    await c.close();
  });

  it('answers malformed lines with a parse error and keeps the connection', async () => {
    const d = await dir();
    const keystore = await openKeystore({ store: memoryStore(), kdf: CHEAP_KDF });
    const agent = await startAgent({ socketPath: join(d, 'a.sock'), keystore });
    cleanup.push(() => agent.stop());
    const lines = await new Promise<string[]>((resolve, reject) => {
      const s = createConnection(agent.socketPath);
      let buf = '';
      s.setEncoding('utf8');
      s.on('data', (chunk: string) => {
        buf += chunk;
        const got = buf.split('\n').filter(Boolean);
        if (got.length === 3) {
          s.destroy();
          resolve(got);
        }
      });
      s.on('error', reject);
      s.write('{not json\n');
      s.write('{"jsonrpc":"2.0","id":7,"method":"nope"}\n');
      s.write('{"jsonrpc":"2.0","id":8,"method":"status"}\n');
    });
    const parsed = lines.map((l) => JSON.parse(l));
    expect(parsed[0]).toMatchObject({ id: null, error: { code: -32700 } });
    const byId = Object.fromEntries(parsed.slice(1).map((p) => [p.id, p]));
    expect(byId[7]).toMatchObject({
      error: { code: -32601, data: { code: 'KEYSTORE_UNKNOWN_METHOD' } },
    });
    expect(byId[8].result.state).toBe('uninitialized');
  });

  it('serves many concurrent clients correctly', async () => {
    const backend = await defaultBackend();
    const d = await dir();
    const agent = await startAgent({
      socketPath: join(d, 'agent.sock'),
      keystoreDir: join(d, 'ks'),
      kdf: CHEAP_KDF,
    });
    cleanup.push(() => agent.stop());
    const first = await connectAgent(agent.socketPath);
    await first.unlock({ passphrase: 'pw', create: true });
    const clients = await Promise.all(
      Array.from({ length: 8 }, () => connectAgent(agent.socketPath)),
    );
    cleanup.push(async () => {
      await Promise.all([first, ...clients].map((c) => c.close()));
    });
    // Every client creates a device and signs 40 distinct messages with it, all at once.
    const results = await Promise.all(
      clients.map(async (c, ci) => {
        const dev = await c.createDevice({ name: `client ${ci}`, type: 'bot' });
        const msgs = Array.from({ length: 40 }, (_, i) => utf8(`client ${ci} message ${i}`));
        const sigs = await Promise.all(
          msgs.map((message) =>
            c.sign({ items: [{ kid: dev.signingKid, purpose: 'http_request', message }] }),
          ),
        );
        return { dev, msgs, sigs };
      }),
    );
    const prefix = concatBytes(utf8(SIGNATURE_PREFIXES.http_request), new Uint8Array([0]));
    for (const { dev, msgs, sigs } of results) {
      sigs.forEach((s, i) => {
        const item = s.items[0]!;
        if (!('result' in item)) throw new Error('sign failed');
        const ok = backend.ed25519Verify(
          item.result.signature,
          concatBytes(prefix, msgs[i]!),
          kidPublicKey(dev.signingKid),
        );
        expect(ok).toBe(true);
      });
    }
    expect((await first.status()).counts.devices).toBe(8);
    expect((await first.agentStatus()).connections).toBe(9);
  });

  it('does not serve privileged methods unless told to', async () => {
    const d = await dir();
    const keystore = await openKeystore({ store: memoryStore(), kdf: CHEAP_KDF });
    await keystore.unlock({ passphrase: 'pw', create: true });
    const agent = await startAgent({
      socketPath: join(d, 'a.sock'),
      keystore,
      allowPrivileged: true,
    });
    cleanup.push(() => agent.stop());
    const c = await connectAgent(agent.socketPath);
    expect((await c.exportSecrets({ passphrase: 'pw' })).format).toBe('saltbox-keystore-export-1');
    await c.close();
  });

  it('killed mid-request: clients get KEYSTORE_TRANSPORT and the store stays intact', async () => {
    const d = await dir();
    const keystoreDir = join(d, 'ks');
    const socketPath = join(d, 'agent.sock');
    const acknowledged = new Set<string>();

    const start = async (): Promise<ChildProcess> => {
      const child = spawn(
        process.execPath,
        [
          '--conditions=source',
          '--import',
          'tsx',
          fileURLToPath(fixture('agent-main.ts')),
          keystoreDir,
          socketPath,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (b: Buffer) => {
          if (b.toString().includes('ready')) resolve();
        });
        child.once('exit', (code) => {
          reject(new Error(`agent exited early (${code})`));
        });
      });
      return child;
    };
    const killed = (child: ChildProcess) =>
      new Promise<void>((resolve) => {
        child.once('exit', () => {
          resolve();
        });
        child.kill('SIGKILL');
      });

    for (let round = 0; round < 4; round++) {
      const child = await start();
      const c = await connectAgent(socketPath);
      await c.unlock({ passphrase: 'pw', create: true });
      // A stream of writes, and a slow request (scrypt), in flight when the agent dies.
      const writes = Array.from({ length: 30 }, (_, i) =>
        c.createDevice({ name: `r${round} d${i}`, type: 'bot' }).then((dev) => {
          acknowledged.add(dev.deviceId);
          return dev;
        }),
      );
      // Wait for one acknowledged write so the store has something to keep even on a loaded
      // machine, then start the slow request and kill while it is still running.
      await writes[0];
      const slow = c.derivePaperKeyDevice({
        phrase:
          'abandon ability able about above absent absorb abstract absurd abuse access accident acid',
      });
      // Settle handlers are attached now, before the rejections arrive.
      const settled = Promise.allSettled([...writes, slow]);
      await new Promise((r) => setTimeout(r, 5 + round * 7));
      await killed(child);
      const outcomes = await settled;
      const failures = outcomes.filter((o) => o.status === 'rejected');
      expect(failures.length).toBeGreaterThan(0); // at least the slow one was cut off
      for (const f of failures) {
        expect(f.reason).toMatchObject({ code: 'KEYSTORE_TRANSPORT' });
      }
      await expectCode(c.status(), 'KEYSTORE_TRANSPORT');
      await c.close();
    }

    // The store opens, every acknowledged device is there, nothing is damaged.
    const ks = await openFileKeystore({ keystoreDir });
    await ks.unlock({ passphrase: 'pw' });
    const held = new Set((await ks.getPublicKeyBundle()).devices.map((x) => x.deviceId));
    for (const id of acknowledged) expect(held.has(id)).toBe(true);
    expect(acknowledged.size).toBeGreaterThan(0);
    await ks.close();
  });
});
