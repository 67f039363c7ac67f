/**
 * Hints shown after an error's code and message, as the CLI prints one under its errors
 * (`packages/cli/src/errors.ts`) — reworded for the page where the CLI's names a command.
 *
 * @packageDocumentation
 */
const HINTS: Record<string, string> = {
  KEYSTORE_WRONG_PASSPHRASE: 'check the passphrase (and caps lock) and try again',
  KEYSTORE_INVALID_ARGUMENT: 'a paper key is 13 words, as shown when it was made',
  CLIENT_PAPER_KEY_UNKNOWN: 'check the username, and that the paper key was not revoked',
  CLIENT_DEVICE_REVOKED: 'sign in with another paper key',
  CLIENT_USER_NOT_FOUND: 'check the spelling of the username',
  CLIENT_TEAM_NOT_FOUND: 'check the team name; subteams are named parent.child',
  CLIENT_KV_NOT_A_MEMBER: 'ask an admin of the team to add you',
  CLIENT_KV_READ_ONLY: 'readers cannot write; ask an admin for the writer role',
  CLIENT_KV_NOT_FOUND: 'reload the list: the entry was deleted',
  CLIENT_KV_WRONG_REVISION: 'someone else changed it meanwhile; reload it',
  CLIENT_NETWORK: 'check that the saltbox server is running and reachable',
  CLIENT_DEVICE_NAME_TAKEN: 'choose another device name',
  WEB_NOT_SIGNED_IN: 'sign in first',
};

/** The hint for a code, if the page has one. */
export function hintFor(code: string): string | undefined {
  return HINTS[code];
}
