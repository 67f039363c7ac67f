/**
 * Keystore and agent failures as provider errors that name the command fixing them (issue 7
 * item 3): no agent → `saltbox agent start`, locked → `saltbox unlock`, not created →
 * `saltbox unlock --create`, not logged in → `saltbox login`.
 *
 * @packageDocumentation
 */
import { KeystoreError } from '@saltbox/keystore';
import { ProviderError } from './errors.js';

/**
 * The FailedPrecondition error for "not logged in": no account (server, username, device) is
 * set up in the saltbox home, so there is nobody to look keys up or decrypt as.
 *
 * @param home - the `$SALTBOX_HOME` that has no account (named so a wrong variable shows).
 */
export function notLoggedIn(home?: string): ProviderError {
  return new ProviderError(
    'FailedPrecondition',
    'PROVIDER_NOT_LOGGED_IN',
    `not logged in${home === undefined ? '' : ` (no account in ${home})`}: run 'saltbox signup' or 'saltbox login'`,
    home === undefined ? {} : { home },
  );
}

/** The FailedPrecondition error for "no agent". */
export function noAgent(cause?: unknown): ProviderError {
  return new ProviderError(
    'FailedPrecondition',
    'PROVIDER_NO_AGENT',
    "no keystore agent is running: run 'saltbox agent start', then 'saltbox unlock'",
    {},
    { cause },
  );
}

/** Maps a keystore failure met while decrypting or signing. */
export function fromKeystoreError(e: unknown): ProviderError {
  if (e instanceof ProviderError) return e;
  if (!(e instanceof KeystoreError))
    return new ProviderError(
      'Internal',
      'PROVIDER_INTERNAL',
      'keystore call failed',
      {},
      { cause: e },
    );
  const details = { keystoreCode: e.code };
  // The agent's socket is unusable (too long a path, an unsafe directory, cannot bind): the
  // keystore's message names the path, which is what the user needs to act.
  if (e.code === 'KEYSTORE_AGENT_SOCKET' || (e.code === 'KEYSTORE_REFUSED' && e.details.path)) {
    return new ProviderError('FailedPrecondition', 'PROVIDER_NO_AGENT', e.message, details, {
      cause: e,
    });
  }
  switch (e.code) {
    case 'KEYSTORE_LOCKED':
      return new ProviderError(
        'FailedPrecondition',
        'PROVIDER_KEYSTORE_LOCKED',
        "the keystore is locked: run 'saltbox unlock'",
        details,
        { cause: e },
      );
    case 'KEYSTORE_UNINITIALIZED':
      return new ProviderError(
        'FailedPrecondition',
        'PROVIDER_KEYSTORE_LOCKED',
        "there is no keystore yet: run 'saltbox unlock --create'",
        details,
        { cause: e },
      );
    case 'KEYSTORE_AGENT_NOT_RUNNING':
      return noAgent(e);
    case 'KEYSTORE_TRANSPORT':
      return new ProviderError(
        'Unknown',
        'PROVIDER_NO_AGENT',
        "the keystore agent connection failed: check 'saltbox agent status'",
        details,
        { cause: e },
      );
    case 'KEYSTORE_DECRYPTION_FAILED':
      return new ProviderError(
        'PermissionDenied',
        'PROVIDER_DECRYPT_FAILED',
        'the keystore could not open the message',
        details,
        { cause: e },
      );
    default:
      return new ProviderError('Internal', 'PROVIDER_INTERNAL', 'keystore call failed', details, {
        cause: e,
      });
  }
}
