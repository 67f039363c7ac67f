/**
 * The signed log's routes (`@saltbox/protocol`'s `CONTRACT` entries `log*`, schemas in its `log.ts`),
 * registered by {@link registerLogRoutes}. All are public and read-only, so anyone can audit
 * the log (DESIGN.md "The signed log"); they share the per-address limit of other public reads.
 *
 * @packageDocumentation
 */
import { fail } from '../errors.js';
import type { LogRootRecord } from '../storage/log-store.js';
import type { Storage } from '../storage/types.js';
import type { Router } from './route.js';

/** What the log routes need from the app. */
export interface LogRouteDeps {
  storage: Storage;
}

function wire(r: LogRootRecord) {
  return {
    seqno: r.seqno,
    payloadJson: r.payloadJson,
    kid: r.kid,
    sig: r.sig,
    leafPath: r.leafPath,
  };
}

/**
 * Registers `GET /api/v1/log/root[?seqno=n]`, `GET /api/v1/log/consistency?from=&to=`,
 * `GET /api/v1/log/proof?id=[&seqno=]`, `GET /api/v1/log/proofs?ids=a,b,c[&seqno=]` and `GET /api/v1/log/changes?from=&limit=`.
 */
export function registerLogRoutes(r: Router, deps: LogRouteDeps): void {
  const { storage } = deps;
  const log = storage.log;
  const rootAt = async (seqno: number | undefined): Promise<LogRootRecord> => {
    const r = seqno === undefined ? await log.latest() : await log.root(seqno);
    if (r === null)
      throw fail(
        'LOG_ROOT_NOT_FOUND',
        seqno === undefined ? 'the log is empty' : 'no such log root',
      );
    return r;
  };
  const seqnoParam = (q: string | undefined): number | undefined => {
    if (q === undefined) return undefined;
    if (!/^[1-9][0-9]{0,15}$/.test(q))
      throw fail('VALIDATION_FAILED', 'seqno must be a positive integer');
    return Number(q);
  };

  r.route('logRoot', async (c, { query }) => {
    // Roots never change once published; the latest one does.
    const seqno = seqnoParam(query.seqno);
    if (seqno !== undefined) c.header('cache-control', 'public, max-age=31536000, immutable');
    return c.json(wire(await rootAt(seqno)));
  });

  r.route('logConsistency', async (c, { query: q }) => {
    if (q.from > q.to) throw fail('VALIDATION_FAILED', 'from must not be after to');
    await rootAt(q.to);
    return c.json({ from: q.from, to: q.to, proof: await log.consistency(q.from, q.to) });
  });

  r.route('logProof', async (c, { query: q }) => {
    const root = await rootAt(q.seqno);
    return c.json({ root: wire(root), proof: await log.mapProof(q.id, root.seqno) });
  });

  // Many chains at one root in one request (a keeper checking 100 recipients): the proofs
  // are read one after another, each through the cached top levels of the map.
  r.route('logProofs', async (c, { query: q }) => {
    const root = await rootAt(q.seqno);
    const proofs = [];
    for (const id of q.ids) proofs.push({ id, proof: await log.mapProof(id, root.seqno) });
    return c.json({ root: wire(root), proofs });
  });

  r.route('logChanges', async (c, { query: q }) => {
    const sets = await log.changes(q.from, q.limit);
    return c.json({
      roots: sets.map((s) => ({
        seqno: s.seqno,
        root: wire(s.root),
        changes: s.changes.map((ch) => ({
          id: ch.id,
          tail: [ch.tail.seqno, ch.tail.linkId, ch.tail.eldestKid] as const,
        })),
      })),
    });
  });
}
