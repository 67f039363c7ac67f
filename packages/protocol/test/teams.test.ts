import { describe, expect, it } from 'vitest';
import {
  appendTeamLinksRequestSchema,
  createTeamRequestSchema,
  ERROR_STATUS,
  perTeamKeyPostSchema,
  ROUTES,
  teamChainPath,
  teamIdSchema,
  teamKeyBoxesPath,
  teamPath,
  teamListQuerySchema,
} from '../src/index.js';

const uid = 'a'.repeat(30) + '19';
const kid = '0121' + 'b'.repeat(64) + '0a';
const section = {
  generation: 1,
  encryptingKid: kid,
  noncePrefix: 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=',
  boxes: { [uid]: 'lAEBAcQw' },
};
const link = {
  seqno: 1,
  prev: null,
  sig: 'x',
  payload_json: '{}',
  kid: '0120' + 'c'.repeat(64) + '0a',
  sig_version: 2,
};

describe('team wire schemas', () => {
  it('accept a creation with one link and generation-1 boxes keyed by uid', () => {
    expect(createTeamRequestSchema.safeParse({ links: [link], perTeamKey: section }).success).toBe(
      true,
    );
  });

  it('refuse unknown fields, two root links, non-uid box keys and non-base64 boxes', () => {
    expect(
      createTeamRequestSchema.safeParse({ links: [link], perTeamKey: section, x: 1 }).success,
    ).toBe(false);
    expect(
      createTeamRequestSchema.safeParse({ links: [link, link], perTeamKey: section }).success,
    ).toBe(false);
    expect(perTeamKeyPostSchema.safeParse({ ...section, boxes: { alice: 'AA==' } }).success).toBe(
      false,
    );
    expect(
      perTeamKeyPostSchema.safeParse({ ...section, boxes: { [uid]: 'not base64!' } }).success,
    ).toBe(false);
    expect(appendTeamLinksRequestSchema.safeParse({ links: [] }).success).toBe(false);
  });

  it('takes team ids with the four team suffixes only', () => {
    for (const s of ['24', '2e', '25', '2f'])
      expect(teamIdSchema.safeParse('0'.repeat(30) + s).success).toBe(true);
    expect(teamIdSchema.safeParse('0'.repeat(30) + '19').success).toBe(false);
  });

  it('encodes implicit team names in paths and lists implicit teams only when asked', () => {
    expect(teamChainPath('alice,bob')).toBe('/api/v1/teams/alice%2Cbob/chain');
    expect(teamKeyBoxesPath('acme.infra')).toBe('/api/v1/teams/acme.infra/key-boxes');
    expect(ROUTES.teamChain).toBe('/api/v1/teams/:team/chain');
    expect(teamListQuerySchema.parse({})).toEqual({ implicit: 'false' });
  });

  it('gives the team codes their statuses', () => {
    expect(ERROR_STATUS).toMatchObject({
      TEAM_NOT_FOUND: 404,
      TEAM_NAME_TAKEN: 409,
      TEAM_ROTATION_REQUIRED: 400,
      TEAM_KEY_BOXES_INVALID: 400,
      TEAM_LAST_OWNER: 409,
      TEAM_LAST_MEMBER: 409,
      TEAM_HAS_SUBTEAMS: 409,
    });
    expect(teamPath('alice,bob')).toBe('/api/v1/teams/alice%2Cbob');
  });
});
