/**
 * In-process tests of what `saltbox run` and `inject` parse: `saltbox://` references
 * (src/references.ts), `{{ … }}` templates, and `--env-file` files (src/env-file.ts).
 */
import { describe, expect, it } from 'vitest';
import { CliError } from '../src/errors.js';
import { parseEnvFile } from '../src/env-file.js';
import {
  fillTemplate,
  isReference,
  parseReference,
  referenceKey,
  templatePlaceholders,
} from '../src/references.js';

/** The code and message of what `f` throws. */
function failure(f: () => unknown): { code: string; message: string } {
  try {
    f();
  } catch (e) {
    if (e instanceof CliError) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('did not throw');
}

describe('saltbox:// references', () => {
  it('TEAM/NAMESPACE/KEY; an empty team is your own store', () => {
    expect(parseReference('saltbox://acme/prod/db', 'X')).toEqual({
      team: 'acme',
      namespace: 'prod',
      entryKey: 'db',
      text: 'saltbox://acme/prod/db',
    });
    expect(parseReference('saltbox:///prod/db', 'X').team).toBeUndefined();
    expect(parseReference('saltbox://alice,bob/n/k', 'X').team).toBe('alice,bob');
    expect(parseReference('saltbox://acme.infra/n/k', 'X').team).toBe('acme.infra');
  });

  it('percent-decodes each part (/, %, unicode), raw unicode too', () => {
    const r = parseReference('saltbox:///ci%2Fcd/cl%C3%A9%25', 'X');
    expect([r.namespace, r.entryKey]).toEqual(['ci/cd', 'clé%']);
    expect(parseReference('saltbox:///ci%2Fcd/clé%25', 'X').entryKey).toBe('clé%');
    expect(referenceKey(r)).toBe(referenceKey(parseReference('saltbox:///ci%2fcd/clé%25', 'Y')));
    expect(referenceKey(r)).not.toBe(
      referenceKey(parseReference('saltbox://me/ci%2Fcd/clé%25', 'Y')),
    );
  });

  it('refuses two parts, extra parts, empty names, bad escapes and raw ? # spaces', () => {
    const bad = [
      ['saltbox://prod/db', 'two parts where three are needed (is the first the team?)'],
      ['saltbox://a/b/c/d', '4 parts where three are needed'],
      ['saltbox://acme//db', 'an empty namespace or key'],
      ['saltbox:///prod/', 'an empty namespace or key'],
      ['saltbox:///prod/%zz', 'a bad percent-encoding'],
      ['saltbox:///prod/db?revision=2', 'a character that must be percent-encoded'],
      ['saltbox:///prod/db#x', 'a character that must be percent-encoded'],
      ['saltbox:///prod/my key', 'a character that must be percent-encoded'],
      ['saltbox:///prod/db\n', 'a character that must be percent-encoded'],
    ];
    for (const [text, why] of bad) {
      expect(failure(() => parseReference(text!, 'DB'))).toEqual({
        code: 'CLI_BAD_REFERENCE',
        message: `DB: ${why} in ${JSON.stringify(text)}`,
      });
    }
    expect(isReference('SALTBOX:///a/b')).toBe(false);
    expect(isReference('https://example.com')).toBe(false);
  });
});

describe('{{ saltbox://… }} templates', () => {
  it('finds placeholders with or without spaces, leaves other braces alone, fills them', () => {
    const t =
      'a={{saltbox:///n/k}}\nb={{  saltbox://acme/n/k\t}} c={{ other }} d={{ saltbox:///n/k }}';
    const ps = templatePlaceholders(t, 'app.tmpl');
    expect(ps.map((p) => [p.reference.text, p.where])).toEqual([
      ['saltbox:///n/k', 'app.tmpl line 1'],
      ['saltbox://acme/n/k', 'app.tmpl line 2'],
      ['saltbox:///n/k', 'app.tmpl line 2'],
    ]);
    const values = new Map([
      [referenceKey(ps[0]!.reference), 'one\ntwo'],
      [referenceKey(ps[1]!.reference), 'team $1 value'],
    ]);
    expect(fillTemplate(t, ps, values)).toBe(
      'a=one\ntwo\nb=team $1 value c={{ other }} d=one\ntwo',
    );
  });

  it('refuses an unclosed placeholder and a malformed reference, naming the line', () => {
    // Whitespace around the reference may include line breaks; a missing }} is an error.
    expect(templatePlaceholders('{{\n  saltbox:///n/k\n}}', 'T')).toHaveLength(1);
    expect(failure(() => templatePlaceholders('ok\n{{ saltbox:///n/k\nmore', 'T'))).toEqual({
      code: 'CLI_BAD_REFERENCE',
      message: 'T line 2: a {{ saltbox:// without its }}',
    });
    expect(failure(() => templatePlaceholders('{{ saltbox://n/k }}', 'T')).message).toBe(
      'T line 1: two parts where three are needed (is the first the team?) in "saltbox://n/k"',
    );
    expect(failure(() => templatePlaceholders('{{ saltbox:///n/a b }}', 'T')).code).toBe(
      'CLI_BAD_REFERENCE',
    );
  });
});

describe('--env-file (dotenv syntax)', () => {
  it('reads names, export, comments, quotes, escapes, multi-line values, CRLF and a BOM', () => {
    const text = [
      '\uFEFF# a comment',
      '',
      'PLAIN=value with spaces   # trailing comment',
      'export EXPORTED=yes',
      '  SPACED = around  ',
      'HASH=a#b',
      "SINGLE='literal $HOME \\n # not a comment'",
      'DOUBLE="tab\\tnew\\nline \\"quoted\\" back\\\\slash \\x kept"  # comment',
      'MULTI="first',
      'second"',
      "MULTI_SINGLE='one",
      "two'",
      'EMPTY=',
      'EMPTY_QUOTED=""',
      'REF=saltbox:///ns/key',
      'DUP=first',
      'DUP=last\r',
      'LAST=no newline at the end',
    ].join('\n');
    expect(Object.fromEntries(parseEnvFile(text, 'f.env'))).toEqual({
      PLAIN: 'value with spaces',
      EXPORTED: 'yes',
      SPACED: 'around',
      HASH: 'a#b',
      SINGLE: 'literal $HOME \\n # not a comment',
      DOUBLE: 'tab\tnew\nline "quoted" back\\slash \\x kept',
      MULTI: 'first\nsecond',
      MULTI_SINGLE: 'one\ntwo',
      EMPTY: '',
      EMPTY_QUOTED: '',
      REF: 'saltbox:///ns/key',
      DUP: 'last',
      LAST: 'no newline at the end',
    });
  });

  it('reports the file and line of a syntax error, never the value', () => {
    const cases: [string, string][] = [
      ['A=1\n1BAD=x', 'f.env line 2: expected NAME=VALUE (a name is letters, digits and _)'],
      ['A=1\nNOEQUALS', "f.env line 2: expected '=' after NOEQUALS"],
      ['A=1\nB="secret\nmore', 'f.env line 2: unterminated "-quoted value of B'],
      ["A='secret' trailing", 'f.env line 1: unexpected text after the value'],
      ['\n\nA="x\ny"\nB=1 2\nC="z" w', 'f.env line 6: unexpected text after the value'],
    ];
    for (const [text, message] of cases) {
      const f = failure(() => parseEnvFile(text, 'f.env'));
      expect(f).toEqual({ code: 'CLI_ENV_FILE', message });
      expect(f.message).not.toContain('secret');
    }
  });
});
