/**
 * Team links and key boxes built with `@saltbox/identity` (real keys, real signatures), for the
 * team route tests: a test team remembers its links and seeds so each test can build the next
 * post the way a client would — or the way a dishonest one would.
 */
import type { CryptoBackend } from '@saltbox/saltpack';
import {
  buildTeamLink,
  derivePerTeamKeys,
  derivePerUserKeys,
  encodeTeamMemberBox,
  rootTeamId,
  sealTeamKeyBox,
  sealTeamPrev,
  teamBoxNonce,
  toBase64,
} from '@saltbox/identity';
import type { BuiltLink, JsonObject } from '@saltbox/identity';
import type { ChainLink, PerTeamKeyPost } from '@saltbox/protocol';
import type { TestDevice, TestUser } from './helpers.js';

export interface TestTeam {
  id: string;
  name: string;
  links: BuiltLink[];
  /** Seeds by generation − 1. */
  seeds: Uint8Array[];
  isImplicit?: boolean;
}

/** `uid%eldest_seqno` of a test user (saltbox users have no resets: eldest seqno 1). */
export const uv = (u: TestUser): string => `${u.uid}%1`;

/** The seqno and KID of a user's newest PUK. */
export function currentPuk(backend: CryptoBackend, u: TestUser): { seqno: number; kid: string } {
  let seqno = 0;
  u.links.forEach((l, i) => {
    const body = (JSON.parse(l.payloadJson) as { body: { type: string } }).body;
    if (body.type === 'per_user_key') seqno = i + 1;
  });
  return {
    seqno,
    kid: derivePerUserKeys(backend, u.pukSeeds[u.pukSeeds.length - 1]!).encryptionKid,
  };
}

/** Builds the next link of `team`, signed by `device` of `by`; `seed` adds a per_team_key. */
export function teamLink(
  backend: CryptoBackend,
  team: TestTeam,
  by: TestUser,
  device: TestDevice,
  type: string,
  section: JsonObject,
  seed?: { seed: Uint8Array; generation: number },
): BuiltLink {
  const last = team.links[team.links.length - 1];
  const options: Parameters<typeof buildTeamLink>[5] = {};
  if (seed) {
    const k = derivePerTeamKeys(backend, seed.seed);
    options.perTeamKey = {
      generation: seed.generation,
      encryptionKid: k.encryptionKid,
      signing: { secretKey: k.signing.secretKey },
    };
  }
  return buildTeamLink(
    backend,
    {
      uid: by.uid,
      username: by.username,
      seqno: team.links.length + 1,
      prev: last ? last.linkId : null,
      eldestKid: by.eldestKid,
      ctime: 1_700_000_500,
    },
    { secretKey: device.signing.secretKey },
    type,
    { id: team.id, ...section },
    options,
  );
}

/** Boxes `seed` (generation `generation`) from `device` to each user's current PUK. */
export function boxPost(
  backend: CryptoBackend,
  device: TestDevice,
  seed: Uint8Array,
  generation: number,
  to: readonly TestUser[],
  prevSeed?: Uint8Array,
): PerTeamKeyPost {
  const prefix = backend.randomBytes(20);
  const boxes: Record<string, string> = {};
  to.forEach((u, i) => {
    const puk = currentPuk(backend, u);
    const ctext = sealTeamKeyBox(
      backend,
      seed,
      teamBoxNonce(prefix, i + 1),
      device.encSecret,
      puk.kid,
    );
    boxes[u.uid] = encodeTeamMemberBox(puk.seqno, i + 1, ctext);
  });
  return {
    generation,
    encryptingKid: device.encKid,
    noncePrefix: toBase64(prefix),
    boxes,
    ...(prevSeed ? { prev: sealTeamPrev(backend, seed, prevSeed, prefix) } : {}),
  };
}

/** A root team named `name` owned by `owner` (not posted): the request and the team. */
export function rootTeam(
  backend: CryptoBackend,
  name: string,
  owner: TestUser,
  members: Record<string, string[]> = {},
  options: { implicit?: boolean; recipients?: TestUser[] } = {},
): { team: TestTeam; request: { links: ChainLink[]; perTeamKey: PerTeamKeyPost } } {
  const team: TestTeam = { id: rootTeamId(backend, name), name, links: [], seeds: [] };
  const seed = backend.randomBytes(32);
  team.seeds.push(seed);
  const section: JsonObject = {
    name,
    members: options.implicit ? members : { owner: [uv(owner)], ...members },
  };
  if (options.implicit) section.implicit = true;
  const link = teamLink(backend, team, owner, owner.devices[0]!, 'team.root', section, {
    seed,
    generation: 1,
  });
  team.links.push(link);
  return {
    team,
    request: {
      links: [link.link as ChainLink],
      perTeamKey: boxPost(backend, owner.devices[0]!, seed, 1, options.recipients ?? [owner]),
    },
  };
}
