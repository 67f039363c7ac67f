/**
 * The URL mux (Go CDK's `secrets.URLMux`, spec keystore-and-secrets-providers §2.3): openers
 * register by scheme, `openKeeper(url)` picks one. Schemes are case-insensitive and may carry
 * Go CDK's `secrets+` or `secrets+keeper+` prefix.
 *
 * URLs are split by hand rather than with WHATWG `URL`: `keybase://alice,team:acme` must keep
 * `team:acme` in the key id, where `URL` would read `:acme` as a port and fail.
 *
 * @packageDocumentation
 */
import { ProviderError, invalidArgument } from './errors.js';
import type { Keeper } from './keeper.js';

/** A keeper URL, split: `scheme://<id>?<params>`. */
export interface KeeperUrl {
  /** Lower-cased scheme without the `secrets+` prefixes. */
  scheme: string;
  /** Host and path: what the driver reads as its key id (still percent-encoded). */
  id: string;
  /** Query parameters. */
  params: URLSearchParams;
}

const SCHEME = /^[a-z][a-z0-9+.-]*$/;

/**
 * Splits a keeper URL.
 *
 * @throws ProviderError `InvalidArgument` (`PROVIDER_BAD_URL`) when it has no `scheme://`, or
 *   carries a fragment.
 */
export function parseKeeperUrl(url: string): KeeperUrl {
  const sep = url.indexOf('://');
  const rawScheme = sep > 0 ? url.slice(0, sep).toLowerCase() : '';
  if (!SCHEME.test(rawScheme)) throw invalidArgument('PROVIDER_BAD_URL', 'not a keeper url');
  if (url.includes('#')) throw invalidArgument('PROVIDER_BAD_URL', 'keeper urls have no fragment');
  const rest = url.slice(sep + 3);
  const q = rest.indexOf('?');
  const scheme = rawScheme.replace(/^secrets\+(keeper\+)?/, '');
  return {
    scheme,
    id: q < 0 ? rest : rest.slice(0, q),
    params: new URLSearchParams(q < 0 ? '' : rest.slice(q + 1)),
  };
}

/**
 * Refuses parameters a driver does not know (Go CDK: "invalid query parameter").
 *
 * @throws ProviderError `InvalidArgument` (`PROVIDER_BAD_URL`) naming the first unknown one.
 */
export function checkParams(url: KeeperUrl, allowed: readonly string[]): void {
  for (const key of url.params.keys()) {
    if (!allowed.includes(key))
      throw invalidArgument('PROVIDER_BAD_URL', `invalid query parameter "${key}"`, {
        scheme: url.scheme,
        parameter: key,
      });
  }
  for (const key of allowed) {
    if (url.params.getAll(key).length > 1)
      throw invalidArgument('PROVIDER_BAD_URL', `query parameter "${key}" given twice`, {
        parameter: key,
      });
  }
}

/** Opens a keeper for a URL of its scheme. */
export type KeeperOpener = (url: KeeperUrl) => Promise<Keeper>;

/** A registry of keeper openers by scheme. */
export class URLMux {
  readonly #openers = new Map<string, KeeperOpener>();

  /**
   * Registers `opener` for `scheme`.
   *
   * @throws ProviderError `InvalidArgument` (`PROVIDER_SCHEME_TAKEN`) when the scheme is
   *   registered already (Go CDK panics), (`PROVIDER_BAD_URL`) when it is not a scheme.
   */
  registerKeeper(scheme: string, opener: KeeperOpener): void {
    const s = scheme.toLowerCase();
    if (!SCHEME.test(s)) throw invalidArgument('PROVIDER_BAD_URL', 'not a url scheme', { scheme });
    if (this.#openers.has(s))
      throw invalidArgument('PROVIDER_SCHEME_TAKEN', `scheme "${s}" is registered already`, {
        scheme: s,
      });
    this.#openers.set(s, opener);
  }

  /** The registered schemes, sorted. */
  keeperSchemes(): string[] {
    return [...this.#openers.keys()].sort();
  }

  /** Whether `scheme` has an opener. */
  validKeeperScheme(scheme: string): boolean {
    return this.#openers.has(scheme.toLowerCase().replace(/^secrets\+(keeper\+)?/, ''));
  }

  /**
   * Opens a keeper for `url` with the opener of its scheme.
   *
   * @throws ProviderError `InvalidArgument` (`PROVIDER_BAD_URL`) for a malformed URL or an
   *   unknown scheme; the opener's errors otherwise.
   */
  async openKeeper(url: string): Promise<Keeper> {
    const parsed = parseKeeperUrl(url);
    const opener = this.#openers.get(parsed.scheme);
    if (!opener)
      throw new ProviderError(
        'InvalidArgument',
        'PROVIDER_BAD_URL',
        `no keeper registered for scheme "${parsed.scheme}"`,
        { scheme: parsed.scheme, known: this.keeperSchemes().join(',') },
      );
    return opener(parsed);
  }
}
