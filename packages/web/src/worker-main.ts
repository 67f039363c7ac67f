/**
 * The Worker script (`dist/keystore-worker.js`). `?store=indexeddb` keeps the keys encrypted
 * under the user's passphrase in IndexedDB (database `saltbox-keystore`); `?store=memory` (the
 * default) keeps them in this Worker only, encrypted under a random passphrase the page makes
 * per session, so a cheap scrypt cost is enough there. `idle-lock-ms` may shorten the
 * persistent keystore's idle lock (30 minutes), never lengthen it.
 *
 * @packageDocumentation
 */
import { indexedDbStore, memoryStore } from '@saltbox/keystore';
import type { BrowserPortLike } from '@saltbox/keystore';
import { BROWSER_KDF, browserArgon2id } from './argon2.js';
import { serveKeystoreInWorker } from './keystore-worker.js';

const IDLE_LOCK_MS = 30 * 60_000;

const scope = globalThis as unknown as BrowserPortLike & { location: { href: string } };
const params = new URL(scope.location.href).searchParams;
const persistent = params.get('store') === 'indexeddb';
const asked = Number(params.get('idle-lock-ms'));
const idleLockMs =
  Number.isSafeInteger(asked) && asked >= 1000 ? Math.min(asked, IDLE_LOCK_MS) : IDLE_LOCK_MS;

void serveKeystoreInWorker(
  scope,
  persistent
    ? // New keystores use Argon2id; older ones (scrypt) still open: the meta record names its KDF.
      { store: indexedDbStore(), idleLockMs, kdf: BROWSER_KDF, argon2id: browserArgon2id }
    : // The passphrase is 256 random bits, so the KDF's cost protects nothing here.
      { store: memoryStore(), kdf: { alg: 'scrypt', params: { N: 1024, r: 8, p: 1 } } },
);
