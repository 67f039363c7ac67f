/**
 * Secret references, `saltbox://TEAM/NAMESPACE/KEY`, as `saltbox run` finds them in environment
 * variables and `saltbox inject` in templates (`{{ saltbox://… }}`).
 *
 * The syntax is a URL whose authority is the team, so it always has three parts:
 *
 * - `saltbox://acme/prod/db-password`: team `acme`, namespace `prod`, key `db-password`;
 * - `saltbox:///prod/db-password`: an empty team is your own store (the implicit team
 *   `you,you`, as `saltbox kv` without `--team`);
 * - `saltbox://alice,bob/ns/key`: an implicit team, as `--team alice,bob`.
 *
 * `saltbox://prod/db-password` (two parts) is refused rather than guessed: read as a URL it
 * names team `prod`, while a reader may mean namespace `prod` of their own store.
 *
 * Each part is percent-decoded (UTF-8), so a name holding `/` is written `%2F` and `%` itself
 * `%25`. Unicode may be written as is or percent-encoded. `?`, `#`, spaces and control
 * characters must be percent-encoded (`?` and `#` are reserved for options such as a
 * revision, later); the scheme is lowercase.
 *
 * @packageDocumentation
 */
import { CliError } from './errors.js';

/** The prefix that makes a value a reference. */
export const REFERENCE_PREFIX = 'saltbox://';

/** One parsed reference. */
export interface Reference {
  /** The team as given, or undefined for your own store (`saltbox:///…`). */
  readonly team: string | undefined;
  readonly namespace: string;
  readonly entryKey: string;
  /** The reference as written. */
  readonly text: string;
}

/** True when `value` is meant as a reference (it starts with `saltbox://`). */
export function isReference(value: string): boolean {
  return value.startsWith(REFERENCE_PREFIX);
}

/**
 * Parses a reference.
 *
 * @param where - what holds it, for the error message (`DB_PASSWORD`, `template line 3`)
 * @throws CliError `CLI_BAD_REFERENCE` when it is not `saltbox://[TEAM]/NAMESPACE/KEY` with
 *   non-empty, well percent-encoded parts.
 */
export function parseReference(text: string, where: string): Reference {
  const bad = (why: string): CliError =>
    new CliError('CLI_BAD_REFERENCE', `${where}: ${why} in ${JSON.stringify(text)}`);
  if (!isReference(text)) throw bad('not a saltbox:// reference');
  const rest = text.slice(REFERENCE_PREFIX.length);
  // Control characters, whitespace (including Unicode spaces), '?' and '#'.
  if (/[\p{Cc}\s?#]/u.test(rest)) throw bad('a character that must be percent-encoded');
  const parts = rest.split('/');
  if (parts.length === 2) throw bad('two parts where three are needed (is the first the team?)');
  if (parts.length !== 3) throw bad(`${parts.length} parts where three are needed`);
  const decoded = parts.map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      throw bad('a bad percent-encoding');
    }
  });
  const [team, namespace, entryKey] = decoded as [string, string, string];
  if (namespace === '' || entryKey === '') throw bad('an empty namespace or key');
  return { team: team === '' ? undefined : team, namespace, entryKey, text };
}

/** A key that is equal for references naming the same entry, however they are spelled. */
export function referenceKey(r: Reference): string {
  return JSON.stringify([r.team ?? null, r.namespace, r.entryKey]);
}

// The start of a placeholder, and a whole one at a given offset: `{{`, optional whitespace
// (line breaks too), the reference (no braces, whitespace or line breaks), optional whitespace,
// `}}`.
const OPENING = /\{\{\s*saltbox:\/\//g;
const PLACEHOLDER = /\{\{\s*(saltbox:\/\/[^{}\n]*?)\s*\}\}/y;

/** A `{{ saltbox://… }}` placeholder of a template. */
export interface Placeholder {
  readonly reference: Reference;
  /** `TEMPLATE line N`, for messages. */
  readonly where: string;
  /** Offset of `{{` and the placeholder's length, in UTF-16 units of the template. */
  readonly index: number;
  readonly length: number;
}

/**
 * Finds the placeholders of a template. Other `{{ … }}` (another tool's) are left alone.
 *
 * @throws CliError `CLI_BAD_REFERENCE` for a malformed reference or a `{{ saltbox://` without
 *   its `}}`, naming the line.
 */
export function templatePlaceholders(template: string, name: string): Placeholder[] {
  const found: Placeholder[] = [];
  for (const open of template.matchAll(OPENING)) {
    const where = `${name} line ${template.slice(0, open.index).split('\n').length}`;
    PLACEHOLDER.lastIndex = open.index;
    const m = PLACEHOLDER.exec(template);
    if (m === null) {
      throw new CliError('CLI_BAD_REFERENCE', `${where}: a {{ saltbox:// without its }}`, {
        hint: 'write {{ saltbox://TEAM/NAMESPACE/KEY }}',
      });
    }
    found.push({
      reference: parseReference(m[1]!, where),
      where,
      index: m.index,
      length: m[0].length,
    });
  }
  return found;
}

/** The template with each placeholder replaced by its value (by {@link referenceKey}). */
export function fillTemplate(
  template: string,
  placeholders: readonly Placeholder[],
  values: ReadonlyMap<string, string>,
): string {
  let out = '';
  let at = 0;
  for (const p of placeholders) {
    const value = values.get(referenceKey(p.reference));
    if (value === undefined) throw new Error('fillTemplate: a placeholder has no value');
    out += template.slice(at, p.index) + value;
    at = p.index + p.length;
  }
  return out + template.slice(at);
}
