/**
 * The temporary files of atomic writes: `@saltbox/keystore`'s (`@saltbox/keystore/files`, the
 * one atomic writer's naming and sweeping rule), re-exported under the client's old path
 * `@saltbox/client/temp-files` so importers keep working.
 *
 * @packageDocumentation
 */
export { removeStaleTempFiles, tempPathFor } from '@saltbox/keystore/files';
