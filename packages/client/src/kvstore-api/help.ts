/**
 * The help of `kvstore api`: our own description, with the request examples of Keybase's help
 * (specs/keybase-kvstore.md §1.6), which are interface facts.
 *
 * @packageDocumentation
 */

/** The description and examples printed by `saltbox kvstore api --help`. */
export const KVSTORE_API_HELP = `Encrypted key-value storage for bots and scripts, compatible with
'keybase kvstore api'. Requests are JSON objects read one after another (from
standard input, -m or -i); each gets exactly one JSON reply line. API errors are
replies too ({"error":{"code":N,"message":"..."}}) and the exit status stays 0.

Namespaces and entry keys are visible to the server; entry values are encrypted
with the team's key before they leave this machine. Without "team" your own
implicit team (yourname,yourname) is used; a name with commas is an implicit
team of those users, created on first use.

Methods: get, put, del, list. A put or del without "revision" writes at the
current revision + 1; with "revision" it must be exactly current + 1 (so 1
creates the entry only if it does not exist). Names starting with "__" are left
out of listings. Listings are not paginated.

Examples:

  {"method": "put", "params": {"options": {"team": "yourname,yourname", "namespace": "pw-manager", "entryKey": "geocities", "entryValue": "all my secrets"}}}
  {"method": "get", "params": {"options": {"team": "yourname,yourname", "namespace": "pw-manager", "entryKey": "geocities"}}}
  {"method": "get", "params": {"options": {"team": "phoenix", "namespace": "pw-manager", "entryKey": "geocities"}}}
  {"method": "put", "params": {"options": {"team": "phoenix", "namespace": "pw-manager", "entryKey": "geocities", "entryValue": "all my secrets"}}}
  {"method": "put", "params": {"options": {"team": "phoenix", "namespace": "pw-manager", "entryKey": "geocities", "revision": 1, "entryValue": "all my secrets"}}}
  {"method": "list", "params": {"options": {"team": "phoenix"}}}
  {"method": "list", "params": {"options": {"team": "phoenix", "namespace": "pw-manager"}}}
  {"method": "del", "params": {"options": {"team": "phoenix", "namespace": "pw-manager", "entryKey": "geocities"}}}
  {"method": "del", "params": {"options": {"team": "phoenix", "namespace": "pw-manager", "revision": 4, "entryKey": "geocities"}}}`;
