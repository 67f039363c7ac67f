/**
 * New links name the log root their signer saw (`body.merkle_root`, keybase-identity.md §3.1;
 * DESIGN.md "Links bind to the log"). The server accepts a named root only when it published
 * it and it is recent: the latest root, or one published within {@link MERKLE_ROOT_WINDOW_MS}
 * of now. So a key stolen today cannot sign a link that claims an old view of the log, and a
 * revocation always names a root that already holds everything signed before it.
 *
 * Links without `merkle_root` are accepted: links from before the log have none, and a client
 * signs the very first links of an empty log without one.
 *
 * @packageDocumentation
 */
import type { ChainLink } from '@saltbox/protocol';
import { fail } from '../errors.js';
import type { Storage } from '../storage/types.js';

/** How old a named root may be (unless it is the latest). */
export const MERKLE_ROOT_WINDOW_MS = 10 * 60 * 1000;

function namedRoot(link: ChainLink): { seqno: unknown; hashMeta: unknown } | undefined {
  if (typeof link.payload_json !== 'string') return undefined;
  let payload: unknown;
  try {
    payload = JSON.parse(link.payload_json);
  } catch {
    return undefined; // the chain verifier reports an unreadable payload with its own code
  }
  const body = (payload as { body?: { merkle_root?: unknown } } | null)?.body;
  const root = body?.merkle_root as { seqno?: unknown; hash_meta?: unknown } | null | undefined;
  if (root === null) return undefined;
  if (typeof root !== 'object') return undefined;
  return { seqno: root.seqno, hashMeta: root.hash_meta };
}

/**
 * Checks the `merkle_root` of each new link.
 *
 * @throws ServerError naming the link's seqno: `CHAIN_INVALID` when a `merkle_root` is
 *   malformed, `LINK_MERKLE_ROOT_UNKNOWN` when this server never published it,
 *   `LINK_MERKLE_ROOT_STALE` when it is older than the window (a backdated link).
 */
export async function checkLinkMerkleRoots(
  storage: Storage,
  links: readonly ChainLink[],
  nowMs: number,
): Promise<void> {
  let latest: Awaited<ReturnType<Storage['log']['latest']>> | undefined;
  for (const link of links) {
    const named = namedRoot(link);
    if (named === undefined) continue;
    const where = `link ${String(link.seqno)}`;
    if (typeof named.hashMeta !== 'string' || typeof named.seqno !== 'number')
      throw fail('CHAIN_INVALID', `${where} has a malformed merkle_root`);
    const root = await storage.log.rootByHashMeta(named.hashMeta);
    if (root?.seqno !== named.seqno)
      throw fail(
        'LINK_MERKLE_ROOT_UNKNOWN',
        `${where} names a log root this server never published`,
      );
    latest ??= await storage.log.latest();
    const isLatest = latest === null || root.seqno === latest.seqno;
    if (!isLatest && root.ctime * 1000 < nowMs - MERKLE_ROOT_WINDOW_MS)
      throw fail(
        'LINK_MERKLE_ROOT_STALE',
        `${where} names log root ${root.seqno}, too old: sign against the latest root`,
      );
  }
}
