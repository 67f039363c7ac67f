/**
 * A test-only, in-memory implementation of the `kvstore api` backend with Keybase's server
 * semantics (specs/keybase-kvstore.md §1.4): revisions from 1, writes at exactly current + 1,
 * tombstones that keep counting, 2762 on deleting nothing, `__` names left out of listings,
 * membership of implicit teams by name. It exists so the dispatcher's parsing and reply bytes
 * can be tested on their own; the end-to-end tests use the real server and KV client.
 */
import {
  entryNotFound,
  notATeamMember,
  teamNotFound,
  wrongRevision,
  writePermissionDenied,
} from '../src/index.js';
import type { KvstoreBackend, KvstoreEntry, KvstoreEntryKey } from '../src/index.js';

interface StoredEntry {
  value: string | null;
  revision: number;
}

/** Named teams: name → member → role. */
export type NamedTeams = Record<string, Record<string, 'owner' | 'writer' | 'reader'>>;

export class InMemoryKvstoreBackendForTests implements KvstoreBackend<string> {
  username: string | null;
  readonly #teams: NamedTeams;
  readonly #stores = new Map<string, Map<string, Map<string, StoredEntry>>>();
  /** Every call, for tests that check what the dispatcher asked. */
  readonly calls: string[] = [];

  constructor(username: string | null, teams: NamedTeams = {}) {
    this.username = username;
    this.#teams = teams;
  }

  currentUsername(): Promise<string | null> {
    return Promise.resolve(this.username);
  }

  resolveTeam(name: string): Promise<string> {
    this.calls.push(`resolve ${name}`);
    const me = this.username ?? '';
    if (name.includes(',')) {
      // Implicit team: writers before '#', readers after; canonical = lower-cased, sorted.
      const [writers = '', readers = ''] = name.toLowerCase().split('#');
      const w = [...new Set(writers.split(',').filter(Boolean))].sort();
      const r = [...new Set(readers.split(',').filter(Boolean))].sort();
      if (!w.includes(me) && !r.includes(me)) return Promise.reject(notATeamMember());
      return Promise.resolve(`implicit:${w.join(',')}#${r.join(',')}`);
    }
    const team = this.#teams[name];
    if (team === undefined) return Promise.reject(teamNotFound(name));
    if (team[me] === undefined) return Promise.reject(notATeamMember());
    return Promise.resolve(`named:${name}`);
  }

  #namespace(team: string, namespace: string): Map<string, StoredEntry> {
    let store = this.#stores.get(team);
    if (!store) this.#stores.set(team, (store = new Map()));
    let ns = store.get(namespace);
    if (!ns) store.set(namespace, (ns = new Map()));
    return ns;
  }

  #writeDenied(team: string): Error | undefined {
    if (!team.startsWith('named:')) return undefined;
    const reader = this.#teams[team.slice(6)]?.[this.username ?? ''] === 'reader';
    return reader ? writePermissionDenied() : undefined;
  }

  get(team: string, namespace: string, entryKey: string): Promise<KvstoreEntry> {
    this.calls.push(`get ${namespace}/${entryKey}`);
    const e = this.#namespace(team, namespace).get(entryKey);
    return Promise.resolve({ entryValue: e?.value ?? null, revision: e?.revision ?? 0 });
  }

  put(
    team: string,
    namespace: string,
    entryKey: string,
    entryValue: string,
    revision: number,
  ): Promise<number> {
    this.calls.push(`put ${namespace}/${entryKey}@${revision}`);
    const denied = this.#writeDenied(team);
    if (denied) return Promise.reject(denied);
    const ns = this.#namespace(team, namespace);
    const current = ns.get(entryKey)?.revision ?? 0;
    if (revision !== current + 1) return Promise.reject(wrongRevision(current, revision));
    ns.set(entryKey, { value: entryValue, revision });
    return Promise.resolve(revision);
  }

  del(team: string, namespace: string, entryKey: string, revision: number): Promise<number> {
    this.calls.push(`del ${namespace}/${entryKey}@${revision}`);
    const denied = this.#writeDenied(team);
    if (denied) return Promise.reject(denied);
    const ns = this.#namespace(team, namespace);
    const e = ns.get(entryKey);
    if (e === undefined || e.value === null) return Promise.reject(entryNotFound());
    if (revision !== e.revision + 1) return Promise.reject(wrongRevision(e.revision, revision));
    ns.set(entryKey, { value: null, revision });
    return Promise.resolve(revision);
  }

  listNamespaces(team: string): Promise<readonly string[]> {
    const store = this.#stores.get(team) ?? new Map<string, Map<string, StoredEntry>>();
    return Promise.resolve(
      [...store]
        .filter(
          ([ns, entries]) =>
            !ns.startsWith('__') && [...entries.values()].some((e) => e.value !== null),
        )
        .map(([ns]) => ns),
    );
  }

  listEntryKeys(team: string, namespace: string): Promise<readonly KvstoreEntryKey[]> {
    const entries = this.#stores.get(team)?.get(namespace) ?? new Map<string, StoredEntry>();
    return Promise.resolve(
      [...entries]
        .filter(([k, e]) => !k.startsWith('__') && e.value !== null)
        .map(([entryKey, e]) => ({ entryKey, revision: e.revision })),
    );
  }
}
