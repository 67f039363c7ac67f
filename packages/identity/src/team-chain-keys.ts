/**
 * Opening a member's team keys against a verified team chain (spec §6.2–6.3): the seed box for
 * the newest generation the server sends, then the `prev` secretboxes down the generations, each
 * seed checked against the per-team-key KIDs the chain recorded for its generation.
 *
 * @packageDocumentation
 */
import type { CryptoBackend } from '@saltbox/saltpack';
import { bytesEqual } from '@saltbox/saltpack/encoding';
import { fail, IdentityError } from './errors.js';
import { derivePerTeamKeys, openTeamKeyBox, openTeamPrev } from './team-keys.js';
import type { TeamKeyBox } from './team-keys.js';
import type { TeamChainState } from './team-chain.js';

/** What the server returns for a member (`team/get`'s `box` and `prevs`). */
export interface TeamKeyResponse {
  /** The member's box for the newest generation, or null/undefined when the server sent none. */
  box?: TeamKeyBox | null;
  /** `prevs[g]` holds seed g−1 sealed under seed g. */
  prevs?: Readonly<Record<number, string>>;
  /** Keybase's implicit-admin "subteam reader" answer (no box); saltbox has no such mode. */
  subteamReader?: boolean;
}

/**
 * Returns the member's PUK encryption secret key (X25519) for the `per_user_key` link at this
 * seqno of their chain, or undefined when they hold none.
 */
export type PukSecretLookup = (perUserKeySeqno: number) => Uint8Array | undefined;

/** Checks that `seed` derives the KIDs the chain recorded at `generation`. */
function checkSeed(
  backend: CryptoBackend,
  state: TeamChainState,
  generation: number,
  seed: Uint8Array,
): void {
  const onChain = state.perTeamKeys.get(generation);
  if (onChain === undefined)
    throw fail(
      'IDENTITY_TEAM_KEY_UNAVAILABLE',
      `per-team-key not found for generation ${generation} on the chain`,
    );
  const keys = derivePerTeamKeys(backend, seed);
  if (keys.signingKid !== onChain.signingKid)
    throw fail('IDENTITY_TEAM_KEY_MISMATCH', `wrong team key found at generation ${generation}`, {
      kid: onChain.signingKid,
    });
  if (keys.encryptionKid !== onChain.encryptionKid)
    throw fail(
      'IDENTITY_TEAM_KEY_MISMATCH',
      `wrong team key (enc) found at generation ${generation}`,
      { kid: onChain.encryptionKid },
    );
}

/**
 * Opens a member's team seeds: the box (newest generation the server sent) with the member's
 * PUK, then every `prev` the server sent down from it. Each seed must derive the chain's KIDs at
 * its generation; seeds already `known` (from an earlier load) must agree, and together the
 * known and new seeds must leave no gap below the box's generation.
 *
 * @returns all seeds by generation (`known` merged with the newly opened ones); `known` is not
 *   modified.
 * @throws IdentityError `IDENTITY_TEAM_KEY_UNAVAILABLE` (no box, no PUK for the box, a
 *   generation the chain lacks, a gap), `IDENTITY_DECRYPTION_FAILED` (box or prev does not open),
 *   `IDENTITY_TEAM_KEY_MISMATCH` (a seed that is not the chain's key, or differs from a known
 *   one), `IDENTITY_UNSUPPORTED` for a subteam-reader answer.
 */
export function openTeamKeys(
  backend: CryptoBackend,
  state: TeamChainState,
  response: TeamKeyResponse,
  pukSecret: PukSecretLookup,
  known: ReadonlyMap<number, Uint8Array> = new Map(),
): Map<number, Uint8Array> {
  if (response.subteamReader === true)
    throw fail(
      'IDENTITY_UNSUPPORTED',
      'subteam-reader answers (implicit admins) are not supported by saltbox',
    );
  const box = response.box;
  if (box === undefined || box === null)
    throw fail('IDENTITY_TEAM_KEY_UNAVAILABLE', 'no key box for this member');
  const top = box.generation;
  if (!Number.isSafeInteger(top) || top < 1)
    throw fail('IDENTITY_MALFORMED', 'team key box generation is malformed');
  // Refuse a box the chain cannot vouch for before spending a decryption on it.
  if (!state.perTeamKeys.has(top))
    throw fail('IDENTITY_TEAM_KEY_UNAVAILABLE', `per-team-key not found for generation ${top}`);
  const secret = pukSecret(box.perUserKeySeqno);
  if (secret === undefined)
    throw fail('IDENTITY_TEAM_KEY_UNAVAILABLE', 'no per-user key for the box', {
      seqno: box.perUserKeySeqno,
    });
  let seed: Uint8Array;
  try {
    seed = openTeamKeyBox(backend, box, secret);
  } catch (e) {
    throw wrapOpen(e, 'opening key box');
  }
  checkSeed(backend, state, top, seed);
  const opened = new Map<number, Uint8Array>([[top, seed]]);
  let g = top;
  const prevs = response.prevs ?? {};
  while (g > 1 && Object.hasOwn(prevs, g)) {
    try {
      seed = openTeamPrev(backend, seed, prevs[g]!);
    } catch (e) {
      throw wrapOpen(e, `opening prev for generation ${g - 1}`);
    }
    g -= 1;
    checkSeed(backend, state, g, seed);
    opened.set(g, seed);
  }
  const out = new Map(known);
  for (const [gen, s] of opened) {
    const k = known.get(gen);
    if (k !== undefined && !bytesEqual(k, s))
      throw fail('IDENTITY_TEAM_KEY_MISMATCH', `wrong team key found at generation ${gen}`);
    out.set(gen, s);
  }
  for (let i = 1; i <= top; i++)
    if (!out.has(i))
      throw fail('IDENTITY_TEAM_KEY_UNAVAILABLE', `gap in per-team-keys at generation ${i}`);
  return out;
}

/** A box or prev that is garbage did not open either: one code for both, as Keybase. */
function wrapOpen(e: unknown, what: string): IdentityError {
  const message = e instanceof IdentityError ? `${what}: ${e.message}` : what;
  return fail('IDENTITY_DECRYPTION_FAILED', message, {}, e);
}

/**
 * The seed of one generation from opened team seeds.
 *
 * @throws IdentityError `IDENTITY_TEAM_KEY_UNAVAILABLE` when that generation is not held.
 */
export function teamSeedAt(seeds: ReadonlyMap<number, Uint8Array>, generation: number): Uint8Array {
  const s = seeds.get(generation);
  if (s === undefined)
    throw fail('IDENTITY_TEAM_KEY_UNAVAILABLE', `team key generation ${generation} is not held`);
  return s;
}
