/**
 * One place where driver failures of the database itself become {@link StorageError}s, and
 * where the storage remembers that it is full (issue #12.11).
 *
 * A full disk fails every signed request — reads too, since each one records its nonce — so it
 * must reach clients as "try again later" (503), not as a bug (500), and `/healthz` must say so
 * while it lasts. Wrapping the aggregates once, rather than each query, keeps the mapping
 * identical on both backends and for every store added later.
 *
 * @packageDocumentation
 */
import { randomBytes } from 'node:crypto';
import { isOutOfSpace, StorageError } from './errors.js';
import type { Storage } from './types.js';

/**
 * Storage methods that write: one succeeding shows there is room again. (A method missing here
 * only means its success does not clear the "full" state; `ping` probes with a write anyway.)
 */
const WRITES: ReadonlySet<PropertyKey> = new Set([
  'createUser',
  'appendLinks',
  'putPukBoxes',
  'claimNonce',
  'pruneNonces',
  'createTeam',
  'appendTeamLinks',
  'putTeamKeyBoxes',
  'put',
  'del',
  'createInvite',
]);

const FULL_MESSAGE = 'no space left for the database: the disk or its size limit is full';

type AnyFn = (...args: unknown[]) => unknown;

/**
 * `storage` with every driver "out of space" error (`SQLITE_FULL`, `ENOSPC`, PostgreSQL
 * `53100`) turned into `StorageError` `STORAGE_FULL`, and a `ping` that fails with it while the
 * last write failed for lack of space and no write has succeeded since. Other errors pass
 * through untouched.
 */
export function guardStorage(storage: Storage): Storage {
  let full = false;
  const mapError = (e: unknown): Error => {
    if (!(e instanceof Error)) return new Error('storage failed with a non-error value');
    if (e instanceof StorageError || !isOutOfSpace(e)) return e;
    full = true;
    return new StorageError('STORAGE_FULL', FULL_MESSAGE, { cause: e });
  };
  const guard = <T extends object>(target: T): T => {
    const wrapped = new Map<PropertyKey, AnyFn>();
    return new Proxy(target, {
      get(t, prop) {
        const v: unknown = Reflect.get(t, prop, t);
        if (typeof v !== 'function') return v;
        let fn = wrapped.get(prop);
        if (fn === undefined) {
          const method = v as AnyFn;
          const writes = WRITES.has(prop);
          fn = (...args: unknown[]): unknown => {
            let r: unknown;
            try {
              r = method.apply(t, args);
            } catch (e) {
              throw mapError(e);
            }
            if (!(r instanceof Promise)) return r;
            return r.then(
              (value: unknown) => {
                if (writes) full = false;
                return value;
              },
              (e: unknown) => Promise.reject(mapError(e)),
            );
          };
          wrapped.set(prop, fn);
        }
        return fn;
      },
    });
  };
  const nonces = guard(storage.nonces);
  return {
    dialect: storage.dialect,
    users: guard(storage.users),
    keyBoxes: guard(storage.keyBoxes),
    nonces,
    teams: guard(storage.teams),
    kv: guard(storage.kv),
    invites: guard(storage.invites),
    changes: storage.changes,
    log: guard(storage.log),
    migrate: () => storage.migrate().catch((e: unknown) => Promise.reject(mapError(e))),
    async ping() {
      await storage.ping();
      // While full, a real write decides: it clears the state when there is room again (an
      // expired nonce row, removed by the next prune), or fails as STORAGE_FULL.
      if (full) await nonces.claimNonce('healthz', randomBytes(16).toString('hex'), 0);
    },
    close: () => storage.close(),
  };
}
