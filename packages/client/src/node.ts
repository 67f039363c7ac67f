/**
 * The client on Node (`@saltbox/client/node`, also in the main entry): the home layout and the
 * one atomic 0600 writer (both owned by `@saltbox/keystore`, which the client depends on, and
 * re-exported here), the file stores of a home, and {@link openSaltboxHome} — the
 * {@link openSaltbox} of a `$SALTBOX_HOME`, which every Node program uses.
 *
 * @packageDocumentation
 */
import { homeLayout, saltboxHome } from '@saltbox/keystore/paths';
import { kvCacheFile } from './kv-cache-file.js';
import { logFreshMsFromEnv } from './log.js';
import { openSaltbox } from './saltbox.js';
import type { OpenSaltboxOptions, Saltbox, SaltboxStores } from './saltbox.js';
import { FileChainCache, FileLogPinStore, FilePinStore, FileTeamPinStore } from './store.js';

export { HOME_FILES, homeLayout, saltboxHome } from '@saltbox/keystore/paths';
export type { HomeLayout } from '@saltbox/keystore/paths';
export {
  removeStaleTempFiles,
  syncDirectory,
  tempPathFor,
  writeFileAtomic,
} from '@saltbox/keystore/files';
export type { AtomicWriteOptions } from '@saltbox/keystore/files';

/**
 * The stores of a home, each a file of {@link homeLayout} (0600, written atomically, locked
 * across processes where read-modify-write): `pins.json`, `chains/`, `team-pins.json`,
 * `log-pins.json` and `kv-rollback-cache.json`. Every process using the home shares them.
 *
 * @param home - default {@link saltboxHome}.
 */
export function homeStores(home: string = saltboxHome()): Required<SaltboxStores> {
  const layout = homeLayout(home);
  return {
    pins: new FilePinStore(home),
    chains: new FileChainCache(home),
    teamPins: new FileTeamPinStore(home),
    logPins: new FileLogPinStore(home),
    kvCache: kvCacheFile(layout.kvCache),
  };
}

/** What {@link openSaltboxHome} builds from. */
export interface OpenSaltboxHomeOptions extends Omit<OpenSaltboxOptions, 'stores'> {
  /** Default {@link saltboxHome}. */
  home?: string;
  /**
   * Where `SALTBOX_LOG_FRESH_MS` is read when `logFreshMs` is not given (default
   * `process.env`).
   */
  env?: Record<string, string | undefined>;
}

/**
 * {@link openSaltbox} with the stores of a home ({@link homeStores}) and the log freshness of
 * `SALTBOX_LOG_FRESH_MS`.
 *
 * @throws ClientError `CLIENT_INVALID_ARGUMENT` when `SALTBOX_LOG_FRESH_MS` is malformed.
 */
export async function openSaltboxHome(o: OpenSaltboxHomeOptions): Promise<Saltbox> {
  const { home, env, ...rest } = o;
  const stores = homeStores(home ?? saltboxHome());
  const logFreshMs = o.logFreshMs ?? logFreshMsFromEnv(env ?? process.env);
  return openSaltbox({
    ...rest,
    stores,
    ...(logFreshMs === undefined ? {} : { logFreshMs }),
  });
}
