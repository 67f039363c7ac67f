/** Generates a NaCl user chain of a given length with the package's own builders. */
import type { CryptoBackend } from '@saltbox/saltpack';
import {
  buildEldestLink,
  buildRevokeLink,
  buildSibkeyLink,
  buildSubkeyLink,
  curve25519Kid,
  ed25519Kid,
  generateDeviceId,
  uidFromUsername,
} from '../src/index.js';
import type { BuiltLink, LinkContext, LinkSigner, ServerChainLink } from '../src/index.js';

export interface GeneratedChain {
  uid: string;
  username: string;
  links: ServerChainLink[];
  keys: string[];
  eldestKid: string;
  /** Signs one more link after the chain's tail (for incremental benchmarks). */
  next(): ServerChainLink;
}

/** eldest, its subkey, then rounds of (new device sibkey, its subkey, revoke the previous device). */
export function generateChain(
  backend: CryptoBackend,
  length: number,
  sigVersion: 1 | 2 = 1,
): GeneratedChain {
  const username = 'benchuser';
  const uid = uidFromUsername(backend, username);
  const keys: string[] = [];
  const links: ServerChainLink[] = [];
  const newSigner = (): LinkSigner => {
    const kp = backend.ed25519KeyPairFromSeed(backend.randomBytes(32));
    keys.push(ed25519Kid(kp.publicKey));
    return { secretKey: kp.secretKey };
  };
  const newEncKid = (): string => {
    const kid = curve25519Kid(backend.x25519PublicKey(backend.randomBytes(32)));
    keys.push(kid);
    return kid;
  };
  const eldest = newSigner();
  const eldestKid = keys[0]!;
  let prev: string | null = null;
  let ctime = 1_700_000_000;
  const ctx = (): LinkContext => ({
    uid,
    username,
    seqno: links.length + 1,
    prev,
    ctime: ctime++,
    sigVersion,
    ...(links.length > 0 ? { eldestKid } : {}),
  });
  const push = (b: BuiltLink): void => {
    links.push(b.link);
    prev = b.linkId;
  };
  push(
    buildEldestLink(backend, ctx(), eldest, {
      id: generateDeviceId(backend),
      kid: eldestKid,
      name: 'first',
      type: 'desktop',
    }),
  );
  let current = eldest;
  let currentKids: string[] = [eldestKid];
  const step = (): void => {
    const phase = (links.length - 1) % 3;
    if (phase === 0) {
      const enc = newEncKid();
      currentKids.push(enc);
      push(buildSubkeyLink(backend, ctx(), current, enc));
    } else if (phase === 1) {
      const next = newSigner();
      push(buildSibkeyLink(backend, ctx(), current, next));
      current = next;
      currentKids = [keys[keys.length - 1]!];
    } else {
      // Revoke the previous device's encryption subkey: a key-changing link of another kind.
      const target = keys.filter((k) => k.startsWith('0121')).at(-2);
      if (target === undefined) {
        const enc = newEncKid();
        push(buildSubkeyLink(backend, ctx(), current, enc));
      } else push(buildRevokeLink(backend, ctx(), current, { kids: [target] }));
    }
  };
  while (links.length < length) step();
  return {
    uid,
    username,
    links,
    keys,
    eldestKid,
    next(): ServerChainLink {
      step();
      return links[links.length - 1]!;
    },
  };
}
