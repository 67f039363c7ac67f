/**
 * The keystore's conformance suites (packages/keystore/test/conformance.ts and
 * pgp-conformance.ts, every case, unchanged) run against the browser transport in real Chromium: a module Web Worker serving
 * the keystore with the app's `serveKeystoreInWorker` over `servePort`/`browserEndpoint`,
 * persisting through the IndexedDB byte store, on libsodium's WebAssembly, under the app's
 * Content-Security-Policy. The test process is the JSON-RPC client; a small page relays the
 * messages to the Worker unchanged. Then what only a browser can show: an IndexedDB keystore
 * survives its Worker and opens again with the passphrase only.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { createRpcClient, KeystoreError } from '@saltbox/keystore';
import type { KeystoreClient, RpcClientHandle } from '@saltbox/keystore';
import { STATIC_CONTENT_TYPES, WEB_CONTENT_SECURITY_POLICY } from '@saltbox/server';
import { describeKeystoreConformance, expectCode } from '../../keystore/test/conformance.js';
import { describePgpConformance } from '../../keystore/test/pgp-conformance.js';
import { launchChromium, recordConsole, WEB_ROOT } from './chromium.js';

let dir = '';
let server: Server;
let browser: Browser;
let page: Page;
let consoleLines: string[] = [];
const handles = new Map<number, RpcClientHandle>();
let dbCounter = 0;

interface RelayWindow {
  startKeystore(db: string, kdf?: string): number;
  sendKeystore(id: number, message: unknown): void;
  stopKeystore(id: number, removeDb: boolean): Promise<void>;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'saltbox-web-conformance-'));
  const fixtures = join(WEB_ROOT, 'test/fixtures');
  await build({
    entryPoints: {
      'conformance-worker': join(fixtures, 'conformance-worker.ts'),
      'conformance-page': join(fixtures, 'conformance-page.ts'),
    },
    outdir: dir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    conditions: ['source'],
    logLevel: 'warning',
  });
  // The page and scripts are served with the app's own CSP, as the saltbox server does.
  server = createServer((req, res) => {
    const name = new URL(req.url ?? '/', 'http://x').pathname.slice(1) || 'conformance.html';
    const from = name === 'conformance.html' ? join(fixtures, name) : join(dir, name);
    if (!/^[a-z-]+\.(html|js)$/.test(name)) {
      res.writeHead(404).end();
      return;
    }
    readFile(from).then(
      (body) => {
        res
          .writeHead(200, {
            'content-type': STATIC_CONTENT_TYPES[extname(name)]!,
            'content-security-policy': WEB_CONTENT_SECURITY_POLICY,
          })
          .end(body);
      },
      () => {
        res.writeHead(404).end();
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  browser = await launchChromium();
  page = await browser.newPage();
  consoleLines = recordConsole(page);
  await page.exposeFunction('keystoreReply', (id: number, message: unknown) => {
    const h = handles.get(id);
    if (!h) return;
    if (typeof message === 'object' && message !== null && 'workerError' in message)
      h.fail(new KeystoreError('KEYSTORE_TRANSPORT', 'keystore worker failed'));
    else h.receive(message);
  });
  await page.goto(`http://127.0.0.1:${port}/`);
  await page.waitForSelector('body[data-ready="true"]', { state: 'attached' });
}, 120_000);

afterAll(async () => {
  await browser.close();
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

/** A JSON-RPC client of a Worker keystore over the IndexedDB database `db`. */
async function workerKeystore(
  db: string,
  removeDbOnClose: boolean,
  kdf?: 'app',
): Promise<KeystoreClient> {
  const id = await page.evaluate(
    ([name, k]) => (window as unknown as RelayWindow).startKeystore(name, k),
    [db, kdf] as const,
  );
  const handle = createRpcClient(
    (message) => {
      page
        .evaluate(
          ([i, m]) => {
            (window as unknown as RelayWindow).sendKeystore(i, m);
          },
          [id, message] as const,
        )
        .catch(() => {
          handle.fail(new KeystoreError('KEYSTORE_TRANSPORT', 'the test page is gone'));
        });
    },
    {
      onClose: async () => {
        handles.delete(id);
        await page.evaluate(
          ([i, remove]) => (window as unknown as RelayWindow).stopKeystore(i, remove),
          [id, removeDbOnClose] as const,
        );
      },
    },
  );
  handles.set(id, handle);
  return handle.client;
}

const browserWorker = async () => {
  const client = await workerKeystore(`conformance-${++dbCounter}`, true);
  return { client, remote: true, teardown: () => client.close() };
};

/** The KDF header of a keystore database's meta record (public: algorithm, cost, salt). */
async function metaKdf(db: string): Promise<Record<string, unknown>> {
  const text = await page.evaluate(async (name) => {
    const idb = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open(name);
      req.onsuccess = () => {
        resolve(req.result);
      };
      req.onerror = () => {
        reject(new Error('open failed'));
      };
    });
    const req = idb.transaction('records', 'readonly').objectStore('records').get('meta');
    await new Promise((resolve) => {
      req.onsuccess = resolve;
    });
    idb.close();
    return new TextDecoder().decode(req.result as ArrayBuffer);
  }, db);
  return (JSON.parse(text) as { kdf: Record<string, unknown> }).kdf;
}

describeKeystoreConformance('browser web worker + indexeddb (chromium)', browserWorker);
describePgpConformance('browser web worker + indexeddb (chromium)', browserWorker);

describe('indexeddb keystore in chromium', () => {
  it('survives its worker: a new worker on the same database unlocks with the passphrase', async () => {
    const db = `persist-${++dbCounter}`;
    const first = await workerKeystore(db, false);
    await first.unlock({ passphrase: 'pass one', create: true });
    const device = await first.createDevice({ name: 'browser', type: 'desktop' });
    await first.close();

    const second = await workerKeystore(db, false);
    expect((await second.status()).state).toBe('locked');
    await expectCode(second.unlock({ passphrase: 'pass two' }), 'KEYSTORE_WRONG_PASSPHRASE');
    await second.unlock({ passphrase: 'pass one' });
    const bundle = await second.getPublicKeyBundle();
    expect(bundle.devices.map((d) => d.deviceId)).toEqual([device.deviceId]);
    expect(bundle.devices[0]!.signingKid).toBe(device.signingKid);
    await second.close();

    // The records in the database: the KDF header and encrypted records, no key in the clear.
    const names = await page.evaluate(async (name) => {
      const idb = await new Promise<IDBDatabase>((resolve, reject) => {
        const req = indexedDB.open(name);
        req.onsuccess = () => {
          resolve(req.result);
        };
        req.onerror = () => {
          reject(new Error('open failed'));
        };
      });
      const req = idb.transaction('records', 'readonly').objectStore('records').getAllKeys();
      await new Promise((resolve) => {
        req.onsuccess = resolve;
      });
      idb.close();
      return req.result.map(String);
    }, db);
    expect(names).toEqual([`key/device/${device.deviceId}`, 'meta']);
  });

  it('makes new keystores with Argon2id (WebAssembly) and still opens scrypt ones', async () => {
    // An old store: scrypt, as the app made them before.
    const oldDb = `scrypt-${++dbCounter}`;
    const old = await workerKeystore(oldDb, false);
    await old.unlock({ passphrase: 'old pass', create: true });
    const oldDevice = await old.createDevice({ name: 'old', type: 'desktop' });
    await old.close();
    expect((await metaKdf(oldDb)).alg).toBe('scrypt');
    // The app's Worker opens it with the same passphrase.
    const reopened = await workerKeystore(oldDb, true, 'app');
    await expectCode(reopened.unlock({ passphrase: 'wrong' }), 'KEYSTORE_WRONG_PASSPHRASE');
    await reopened.unlock({ passphrase: 'old pass' });
    expect((await reopened.getPublicKeyBundle()).devices[0]!.deviceId).toBe(oldDevice.deviceId);
    await reopened.close();

    // A new store made by the app's Worker: Argon2id, libsodium's interactive cost.
    const newDb = `argon2id-${++dbCounter}`;
    const made = await workerKeystore(newDb, false, 'app');
    await made.unlock({ passphrase: 'new pass', create: true });
    const device = await made.createDevice({ name: 'new', type: 'desktop' });
    await made.close();
    expect(await metaKdf(newDb)).toMatchObject({
      alg: 'argon2id',
      opslimit: 2,
      memlimit: 64 * 1024 * 1024,
    });
    // A Worker without Argon2id cannot open it (the KDF really is Argon2id) …
    const without = await workerKeystore(newDb, false);
    await expectCode(without.unlock({ passphrase: 'new pass' }), 'KEYSTORE_UNSUPPORTED_VERSION');
    await without.close();
    // … the app's opens it with the passphrase only.
    const again = await workerKeystore(newDb, true, 'app');
    await expectCode(again.unlock({ passphrase: 'wrong' }), 'KEYSTORE_WRONG_PASSPHRASE');
    await again.unlock({ passphrase: 'new pass' });
    expect((await again.getPublicKeyBundle()).devices[0]!.deviceId).toBe(device.deviceId);
    await again.close();
  });

  it('logged no CSP violation and no uncaught error', () => {
    expect(consoleLines.join('\n')).not.toMatch(/Content Security Policy|pageerror/);
  });
});
