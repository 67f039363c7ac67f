/**
 * The Worker script (`dist/keystore-worker.js`). `?store=indexeddb` keeps the keys encrypted
 * under the user's passphrase in IndexedDB (database `saltbox-keystore`); `?store=memory` (the
 * default) keeps them in this Worker only, encrypted under a random passphrase the page makes
 * per session, so a cheap scrypt cost is enough there.
 *
 * @packageDocumentation
 */
import { indexedDbStore, memoryStore } from '@saltbox/keystore';
import type { BrowserPortLike } from '@saltbox/keystore';
import { serveKeystoreInWorker } from './keystore-worker.js';

const scope = globalThis as unknown as BrowserPortLike & { location: { href: string } };
const persistent = new URL(scope.location.href).searchParams.get('store') === 'indexeddb';

void serveKeystoreInWorker(
  scope,
  persistent
    ? { store: indexedDbStore(), idleLockMs: 30 * 60_000 }
    : // The passphrase is 256 random bits, so the KDF's cost protects nothing here.
      { store: memoryStore(), kdf: { alg: 'scrypt', params: { N: 1024, r: 8, p: 1 } } },
);
