/**
 * Followed identities, for `verify_proofs=true` (DESIGN.md, Identity: `saltbox follow <user>`
 * records a verified fingerprint). A recipient counts as followed when a record exists for its
 * label and names the identity (eldest KID, or team ID) of the chain verified now — a reset
 * account (new eldest key) is no longer followed.
 *
 * @packageDocumentation
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HOME_FILES, writeAtomic } from '@saltbox/client';
import { z } from 'zod';

/** One followed identity. */
export interface FollowRecord {
  /** The eldest KID (users) or team ID (teams) verified when following. */
  identity: string;
  /** Unix ms. */
  followedAt: number;
}

/** Followed identities by label (`alice`, `team:acme`). */
export interface FollowStore {
  get(label: string): Promise<FollowRecord | undefined>;
  set(label: string, record: FollowRecord): Promise<void>;
}

const fileSchema = z.object({
  format: z.literal('saltbox-following'),
  version: z.literal(1),
  follows: z.record(z.string(), z.object({ identity: z.string(), followedAt: z.number() })),
});

/** In memory (tests). */
export function memoryFollowStore(): FollowStore {
  const m = new Map<string, FollowRecord>();
  return {
    get: (l) => Promise.resolve(m.get(l)),
    set: (l, r) => {
      m.set(l, r);
      return Promise.resolve();
    },
  };
}

/**
 * `<dir>/following.json` (0600, atomic through the client's `writeAtomic`, whose temporary
 * files a killed process leaves are removed by the next write). A missing or corrupt file
 * follows nobody.
 *
 * `set` throws ClientError `CLIENT_STORE` when the file cannot be written.
 */
export function fileFollowStore(dir: string): FollowStore {
  const path = join(dir, HOME_FILES.follows);
  const load = async (): Promise<Record<string, FollowRecord>> => {
    try {
      const p = fileSchema.safeParse(JSON.parse(await readFile(path, 'utf8')));
      return p.success ? p.data.follows : {};
    } catch {
      return {};
    }
  };
  return {
    async get(label) {
      return (await load())[label];
    },
    async set(label, record) {
      const follows = await load();
      follows[label] = record;
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await writeAtomic(path, JSON.stringify({ format: 'saltbox-following', version: 1, follows }));
    },
  };
}
