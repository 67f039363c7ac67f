import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileTeamPinStore, isClientError } from '../src/index.js';
import type { TeamPin } from '../src/index.js';
import { tempHome } from './helpers.js';

const pin = (teamId: string, seqno: number): TeamPin => ({
  teamId,
  name: 'acme',
  rootLinkId: 'a'.repeat(64),
  tail: { seqno, linkId: 'b'.repeat(64) },
  pinnedAt: 1,
});
const ACME = '0'.repeat(30) + '24';
const INFRA = '1'.repeat(30) + '25';

describe('FileTeamPinStore', () => {
  let home: Awaited<ReturnType<typeof tempHome>>;
  beforeEach(async () => {
    home = await tempHome();
  });
  afterEach(() => home.cleanup());

  it('keeps team pins across store instances in a 0600 file', async () => {
    const a = new FileTeamPinStore(home.dir);
    await Promise.all([a.set(pin(ACME, 3)), a.set(pin(INFRA, 1))]);
    const b = new FileTeamPinStore(home.dir);
    expect(await b.get(ACME)).toEqual(pin(ACME, 3));
    expect(await b.get(INFRA)).toEqual(pin(INFRA, 1));
    expect(await b.get('2'.repeat(30) + '24')).toBeUndefined();
    expect((await stat(join(home.dir, 'team-pins.json'))).mode & 0o777).toBe(0o600);
  });

  it('refuses a corrupt file and a non-team id', async () => {
    await writeFile(join(home.dir, 'team-pins.json'), '[1]');
    const s = new FileTeamPinStore(home.dir);
    const e: unknown = await s.get(ACME).catch((x: unknown) => x);
    expect(isClientError(e, 'CLIENT_STORE')).toBe(true);
    const f: unknown = await s.set(pin('nope', 1)).catch((x: unknown) => x);
    expect(isClientError(f, 'CLIENT_INVALID_ARGUMENT')).toBe(true);
  });

  it('sees another writer on the next read although reads come from a snapshot', async () => {
    const reader = new FileTeamPinStore(home.dir);
    const writer = new FileTeamPinStore(home.dir);
    await writer.set(pin(ACME, 3));
    expect((await reader.get(ACME))?.tail.seqno).toBe(3);
    // A second store stands in for another process: its rename gives the file a new inode.
    await writer.set(pin(ACME, 4));
    expect((await reader.get(ACME))?.tail.seqno).toBe(4);
    // A pin handed out is a copy: changing it changes neither the snapshot nor the file.
    const got = (await reader.get(ACME))!;
    got.tail.seqno = 99;
    expect((await reader.get(ACME))?.tail.seqno).toBe(4);
    expect((await new FileTeamPinStore(home.dir).get(ACME))?.tail.seqno).toBe(4);
  });
});
