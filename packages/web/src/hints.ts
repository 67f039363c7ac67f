/**
 * Hints shown after an error's code and message: the CLI's hints (`packages/cli/src/errors.ts`,
 * the same codes and the same words), reworded only where the CLI's names a command or a flag.
 *
 * @packageDocumentation
 */
/** The CLI's hint for a server whose answer does not verify, without `--server`. */
const LYING_SERVER =
  'the server answered with data that does not verify; nothing was trusted or changed';

const HINTS: Record<string, string> = {
  KEYSTORE_WRONG_PASSPHRASE: 'nothing was changed; try again',
  KEYSTORE_INVALID_ARGUMENT: 'a paper key is 13 words, as shown when it was made',
  CLIENT_PAPER_KEY_UNKNOWN: 'check the username and the 13 words of the paper key',
  CLIENT_DEVICE_REVOKED:
    'this device can no longer act for the account; sign in with another paper key',
  CLIENT_USER_NOT_FOUND: 'check the spelling of the username',
  CLIENT_TEAM_NOT_FOUND: 'check the team name; only members (and parent admins) can see a team',
  CLIENT_KV_NOT_A_MEMBER: 'check the team name and your membership',
  CLIENT_KV_READ_ONLY: 'readers of a team cannot write its store',
  CLIENT_KV_WRONG_REVISION: 'read the entry again and write its revision + 1',
  CLIENT_NETWORK: 'is the server running? check that this page’s server is reachable',
  CLIENT_DEVICE_NOT_FOUND: 'see the devices listed under Account and devices',
  CLIENT_DEVICE_NAME_TAKEN: 'choose another name (Account and devices shows the names in use)',
  CLIENT_WRONG_USER: LYING_SERVER,
  CLIENT_CHAIN_INVALID: LYING_SERVER,
  CLIENT_CHAIN_FORK: LYING_SERVER,
  CLIENT_CHAIN_ROLLBACK: LYING_SERVER,
  CLIENT_WRONG_TEAM: LYING_SERVER,
  WEB_NOT_SIGNED_IN: 'sign in first',
};

/** The hint for a code, if the page has one. */
export function hintFor(code: string): string | undefined {
  return HINTS[code];
}
