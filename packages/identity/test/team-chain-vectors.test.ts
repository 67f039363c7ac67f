import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { IdentityErrorCode } from '../src/index.js';
import { BACKEND_NAMES, backend, VECTORS } from './helpers.js';
import { runTeamVector, teamVectorFiles } from './team-vector-runner.js';

const DIR = join(VECTORS, 'teamchains');

/**
 * Every non-hidden vector saltbox does not pass, why, and the code saltbox refuses it with. The
 * test below checks that each of these is *refused* with exactly that code wherever it differs
 * from Keybase (never silently skipped), and that every other vector passes.
 */
export const UNSUPPORTED_TEAM_VECTORS: readonly {
  vector: string;
  reason: string;
  refusedWith: IdentityErrorCode;
}[] = [
  ...[
    'invite_obsolete.json',
    'invite_obsolete_trick.json',
    'multiple_use_invite.json',
    'multiple_use_invite_1000_years.json',
    'multiple_use_invite_2.json',
    'multiple_use_invite_3.json',
    'multiple_use_invite_exceed.json',
    'multiple_use_invite_exceed_2.json',
    'used_stubbed_invites.json',
  ].map((vector) => ({
    vector,
    reason:
      'team invites (team.invite links, invites/used_invites sections, multiple-use and expiring ' +
      'invites): saltbox adds members by UID only and refuses invite links',
    refusedWith: 'IDENTITY_UNSUPPORTED' as const,
  })),
  {
    vector: 'simple_hidden.json',
    reason: 'hidden team chains (sig v3, ratchets, keys from the hidden chain): out of scope',
    refusedWith: 'IDENTITY_UNSUPPORTED',
  },
];

const files = teamVectorFiles(DIR);
const unsupported = new Map(UNSUPPORTED_TEAM_VECTORS.map((u) => [u.vector, u]));

describe.each(BACKEND_NAMES)("Keybase's teamchains vectors (%s backend)", (name) => {
  it('has 58 non-hidden vectors, 48 passing and 10 with a written reason', () => {
    expect(files).toHaveLength(58);
    expect(UNSUPPORTED_TEAM_VECTORS.every((u) => files.includes(u.vector))).toBe(true);
    expect(files.length - unsupported.size).toBe(48);
  });

  it.each(files.filter((f) => !unsupported.has(f)))('%s passes every load', async (file) => {
    const out = runTeamVector(await backend(name), DIR, file);
    expect(out.filter((o) => !o.ok).map((o) => `${o.session}.${o.load}: ${o.reason}`)).toEqual([]);
  });

  it.each(UNSUPPORTED_TEAM_VECTORS)(
    '$vector is refused ($refusedWith), not skipped',
    async ({ vector, refusedWith }) => {
      const out = runTeamVector(await backend(name), DIR, vector);
      const differing = out.filter((o) => !o.ok);
      expect(differing.length).toBeGreaterThan(0);
      // Wherever saltbox departs from Keybase, it is by refusing with the listed code.
      for (const o of differing) expect(o.code, o.reason).toBe(refusedWith);
    },
  );
});
