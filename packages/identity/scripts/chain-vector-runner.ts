/**
 * Runs tests in the format of Keybase's `chain_tests.json` (shared by the CLI runner and the
 * vitest suite). File reading lives here, outside `src/`, which stays free of I/O.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CryptoBackend } from '@saltbox/saltpack';
import { buildKeyFamily, codeForErrType, IdentityError, verifyUserChain } from '../src/index.js';

export interface ChainTest {
  input: string;
  len?: number;
  sibkeys?: number;
  subkeys?: number;
  eldest?: string;
  eldest_seqno?: number;
  previous_subchains?: { eldest_seqno: number; sibkeys: number; subkeys: number }[];
  err_type?: string;
}

export interface ChainTestOutcome {
  name: string;
  ok: boolean;
  /** Why it failed (empty when it passed). */
  reason: string;
}

export function loadChainTests(dir: string): Record<string, ChainTest> {
  const doc = JSON.parse(readFileSync(join(dir, 'chain_tests.json'), 'utf8')) as {
    tests: Record<string, ChainTest>;
  };
  return doc.tests;
}

/** Runs one test and reports whether the verifier met its expectations. */
export async function runChainTest(
  backend: CryptoBackend,
  dir: string,
  name: string,
  test: ChainTest,
): Promise<ChainTestOutcome> {
  const outcome = (ok: boolean, reason = ''): ChainTestOutcome => ({ name, ok, reason });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- vector JSON, shape checked by use
  let input: any;
  try {
    input = JSON.parse(readFileSync(join(dir, 'chains', test.input), 'utf8'));
  } catch (e) {
    return outcome(false, `cannot read input ${test.input}: ${(e as Error).message}`);
  }
  try {
    const family = await buildKeyFamily(backend, input.keys ?? []);
    // As Keybase's harness: the eldest is the labelled key when the test names one, otherwise
    // the first key bundle of the input.
    const eldestKid: string | undefined =
      test.eldest !== undefined ? input.label_kids?.[test.eldest] : family.kids[0];
    if (test.eldest !== undefined && eldestKid === undefined)
      return outcome(false, `unknown eldest label ${test.eldest}`);
    const result = await verifyUserChain(backend, {
      uid: input.uid,
      username: input.username,
      links: input.chain ?? [],
      keyFamily: family,
      ...(eldestKid === undefined ? {} : { eldestKid }),
    });
    if (test.err_type !== undefined)
      return outcome(false, `expected ${test.err_type}, but the chain verified`);
    const problems: string[] = [];
    if (test.len !== undefined && result.linkCount !== test.len)
      problems.push(`len ${result.linkCount} != ${test.len}`);
    if (test.sibkeys !== undefined && result.sibkeys.length !== test.sibkeys)
      problems.push(`sibkeys ${result.sibkeys.length} != ${test.sibkeys}`);
    if (test.subkeys !== undefined && result.subkeys.length !== test.subkeys)
      problems.push(`subkeys ${result.subkeys.length} != ${test.subkeys}`);
    if (test.eldest !== undefined && result.state.eldestKid !== eldestKid)
      problems.push(`eldest ${result.state.eldestKid} != ${eldestKid}`);
    if (test.eldest_seqno !== undefined && result.state.eldestSeqno !== test.eldest_seqno)
      problems.push(`eldest_seqno ${result.state.eldestSeqno} != ${test.eldest_seqno}`);
    if (test.previous_subchains !== undefined) {
      const got = result.previousSubchains.map((s) => ({
        eldest_seqno: s.eldestSeqno,
        sibkeys: s.sibkeys.length,
        subkeys: s.subkeys.length,
      }));
      if (JSON.stringify(got) !== JSON.stringify(test.previous_subchains))
        problems.push(
          `previous_subchains ${JSON.stringify(got)} != ${JSON.stringify(test.previous_subchains)}`,
        );
    }
    return outcome(problems.length === 0, problems.join('; '));
  } catch (e) {
    if (!(e instanceof IdentityError))
      return outcome(false, `crashed: ${(e as Error).stack ?? String(e)}`);
    if (test.err_type === undefined)
      return outcome(false, `unexpected ${e.code}: ${e.message} ${JSON.stringify(e.details)}`);
    if (test.err_type === 'ANY') return outcome(true);
    const want = codeForErrType(test.err_type);
    if (want === undefined) return outcome(false, `unknown err_type ${test.err_type}`);
    return e.code === want
      ? outcome(true)
      : outcome(
          false,
          `expected ${want}, got ${e.code}: ${e.message} ${JSON.stringify(e.details)}`,
        );
  }
}
