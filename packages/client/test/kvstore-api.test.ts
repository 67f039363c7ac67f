/**
 * The `kvstore api` dispatcher against Keybase's interface (specs/keybase-kvstore.md §1): exact
 * reply bytes, option handling as Go's encoding/json does it, error codes and texts. The
 * backend is the test-only in-memory one; the end-to-end tests run the real server.
 */
import { describe, expect, it } from 'vitest';
import { KvstoreApi, kvstoreStatus } from '../src/index.js';
import type { KvstoreBackend } from '../src/index.js';
import { InMemoryKvstoreBackendForTests } from './kvstore-api-memory-backend.js';

function api(username: string | null = 'alice', pretty = false) {
  const backend = new InMemoryKvstoreBackendForTests(username, {
    phoenix: { alice: 'owner', bob: 'writer', carol: 'reader' },
    secret: { bob: 'owner' },
  });
  const dispatcher = new KvstoreApi(backend, { pretty });
  return { backend, run: (text: string) => dispatcher.runText(text) };
}

const req = (
  method: string,
  options: Record<string, unknown>,
  extra: Record<string, unknown> = {},
) => JSON.stringify({ method, params: { version: 1, options }, ...extra });

describe('result shapes (spec §1.3)', () => {
  it('get of a never-set entry: null value, revision 0', async () => {
    const { run } = api();
    expect(await run(req('get', { team: 'phoenix', namespace: 'n', entryKey: 'k' }))).toBe(
      '{"result":{"teamName":"phoenix","namespace":"n","entryKey":"k","entryValue":null,"revision":0}}\n',
    );
  });

  it('put, get, list, del, get-after-delete and re-put, byte for byte', async () => {
    const { run } = api();
    const o = { team: 'phoenix', namespace: 'pw-manager', entryKey: 'geocities' };
    expect(await run(req('put', { ...o, entryValue: 'all my secrets' }))).toBe(
      '{"result":{"teamName":"phoenix","namespace":"pw-manager","entryKey":"geocities","revision":1}}\n',
    );
    expect(await run(req('get', o))).toBe(
      '{"result":{"teamName":"phoenix","namespace":"pw-manager","entryKey":"geocities","entryValue":"all my secrets","revision":1}}\n',
    );
    expect(await run(req('list', { team: 'phoenix' }))).toBe(
      '{"result":{"teamName":"phoenix","namespaces":["pw-manager"]}}\n',
    );
    expect(await run(req('list', { team: 'phoenix', namespace: 'pw-manager' }))).toBe(
      '{"result":{"teamName":"phoenix","namespace":"pw-manager","entryKeys":[{"entryKey":"geocities","revision":1}]}}\n',
    );
    expect(await run(req('del', o))).toBe(
      '{"result":{"teamName":"phoenix","namespace":"pw-manager","entryKey":"geocities","revision":2}}\n',
    );
    expect(await run(req('get', o))).toBe(
      '{"result":{"teamName":"phoenix","namespace":"pw-manager","entryKey":"geocities","entryValue":null,"revision":2}}\n',
    );
    // A namespace whose entries are all deleted disappears; the key list is [] (never null).
    expect(await run(req('list', { team: 'phoenix' }))).toBe(
      '{"result":{"teamName":"phoenix","namespaces":[]}}\n',
    );
    expect(await run(req('list', { team: 'phoenix', namespace: 'pw-manager' }))).toBe(
      '{"result":{"teamName":"phoenix","namespace":"pw-manager","entryKeys":[]}}\n',
    );
    expect(await run(req('put', { ...o, entryValue: 'again' }))).toBe(
      '{"result":{"teamName":"phoenix","namespace":"pw-manager","entryKey":"geocities","revision":3}}\n',
    );
  });

  it('a 1 MiB value (one long ASCII run) and a long number literal decode', async () => {
    const { run } = api();
    const o = { team: 'phoenix', namespace: 'n', entryKey: 'big' };
    const value = 'x'.repeat(1 << 20);
    expect(await run(req('put', { ...o, entryValue: value }))).toContain('"revision":1}');
    expect(await run(req('get', o))).toContain(`"entryValue":"${value}"`);
    // Decoded as a number literal before its type is checked: Go's type error, not a crash.
    const digits = '1'.repeat(200_000);
    expect(
      await run(`{"method":"get","params":{"options":{"namespace":${digits},"entryKey":"k"}}}`),
    ).toContain('cannot unmarshal number');
  });

  it('-p indents results with four spaces', async () => {
    const { run } = api('alice', true);
    expect(await run(req('list', { team: 'phoenix' }))).toBe(
      '{\n    "result": {\n        "teamName": "phoenix",\n        "namespaces": []\n    }\n}\n',
    );
    await run(req('put', { team: 'phoenix', namespace: 'n', entryKey: 'k', entryValue: 'v' }));
    expect(await run(req('list', { team: 'phoenix', namespace: 'n' }))).toBe(
      '{\n    "result": {\n        "teamName": "phoenix",\n        "namespace": "n",\n        "entryKeys": [\n            {\n                "entryKey": "k",\n                "revision": 1\n            }\n        ]\n    }\n}\n',
    );
  });

  it('names starting with __ are left out of listings but readable', async () => {
    const { run } = api();
    await run(req('put', { namespace: '__hidden', entryKey: 'k', entryValue: 'v' }));
    await run(req('put', { namespace: 'shown', entryKey: '__k', entryValue: 'v' }));
    await run(req('put', { namespace: 'shown', entryKey: 'k', entryValue: 'v' }));
    expect(await run(req('list', {}))).toBe(
      '{"result":{"teamName":"alice,alice","namespaces":["shown"]}}\n',
    );
    expect(await run(req('list', { namespace: 'shown' }))).toBe(
      '{"result":{"teamName":"alice,alice","namespace":"shown","entryKeys":[{"entryKey":"k","revision":1}]}}\n',
    );
    expect(await run(req('get', { namespace: '__hidden', entryKey: 'k' }))).toContain(
      '"entryValue":"v"',
    );
  });
});

describe('teams', () => {
  it('team absent or null is the self-team "you,you", echoed as such', async () => {
    const { run, backend } = api();
    expect(await run(req('get', { namespace: 'n', entryKey: 'k' }))).toBe(
      '{"result":{"teamName":"alice,alice","namespace":"n","entryKey":"k","entryValue":null,"revision":0}}\n',
    );
    expect(await run(req('get', { team: null, namespace: 'n', entryKey: 'k' }))).toContain(
      '"teamName":"alice,alice"',
    );
    expect(backend.calls.filter((c) => c.startsWith('resolve'))).toEqual([
      'resolve alice,alice',
      'resolve alice,alice',
    ]);
  });

  it('an empty team string is not defaulted (it fails to resolve)', async () => {
    const { run } = api();
    expect(await run(req('get', { team: '', namespace: 'n', entryKey: 'k' }))).toBe(
      '{"error":{"code":2614,"message":"Team \\"\\" does not exist (error 2614)"}}\n',
    );
  });

  it('implicit teams by comma-separated names, echoed as spelled', async () => {
    const { run } = api();
    await run(req('put', { team: 'Bob,alice', namespace: 'n', entryKey: 'k', entryValue: 'v' }));
    expect(await run(req('get', { team: 'alice,bob', namespace: 'n', entryKey: 'k' }))).toBe(
      '{"result":{"teamName":"alice,bob","namespace":"n","entryKey":"k","entryValue":"v","revision":1}}\n',
    );
  });

  it("not a member → 2623 with Keybase's text", async () => {
    const { run } = api();
    const expected =
      '{"error":{"code":2623,"message":"You are not a member of this team (error 2623)"}}\n';
    expect(await run(req('get', { team: 'bob,carol', namespace: 'n', entryKey: 'k' }))).toBe(
      expected,
    );
    expect(await run(req('list', { team: 'secret' }))).toBe(expected);
  });
});

describe('revisions and status errors (spec §1.4, §1.5)', () => {
  it('explicit revision 1 creates only; a stale or skipping revision is 2760', async () => {
    const { run } = api();
    const o = { team: 'phoenix', namespace: 'n', entryKey: 'k' };
    expect(await run(req('put', { ...o, entryValue: 'a', revision: 1 }))).toContain('"revision":1');
    expect(await run(req('put', { ...o, entryValue: 'b', revision: 1 }))).toBe(
      '{"error":{"code":2760,"message":"revision 1 already exists for this entry (error 2760)"}}\n',
    );
    expect(await run(req('put', { ...o, entryValue: 'b', revision: 5 }))).toBe(
      '{"error":{"code":2760,"message":"expected revision 2 but got 5 (error 2760)"}}\n',
    );
    expect(await run(req('del', { ...o, revision: 9 }))).toBe(
      '{"error":{"code":2760,"message":"expected revision 2 but got 9 (error 2760)"}}\n',
    );
    expect(await run(req('del', { ...o, revision: 2 }))).toContain('"revision":2');
  });

  it('del of a never-set or deleted entry is 2762', async () => {
    const { run } = api();
    const o = { namespace: 'n', entryKey: 'k' };
    const notFound =
      '{"error":{"code":2762,"message":"team storage entry not found (error 2762)"}}\n';
    expect(await run(req('del', o))).toBe(notFound);
    await run(req('put', { ...o, entryValue: 'v' }));
    await run(req('del', o));
    expect(await run(req('del', o))).toBe(notFound);
  });

  it('put/del without revision read first; a failing read is wrapped (code 0, text kept)', async () => {
    const backend = new InMemoryKvstoreBackendForTests('alice');
    const failing: KvstoreBackend<string> = {
      currentUsername: () => backend.currentUsername(),
      resolveTeam: (n) => backend.resolveTeam(n),
      get: () => Promise.reject(kvstoreStatus(2761, 'bad generation')),
      put: (...a) => backend.put(...a),
      del: (...a) => backend.del(...a),
      listNamespaces: (t) => backend.listNamespaces(t),
      listEntryKeys: (t, n) => backend.listEntryKeys(t, n),
    };
    const d = new KvstoreApi(failing);
    expect(await d.runText(req('put', { namespace: 'n', entryKey: 'k', entryValue: 'v' }))).toBe(
      '{"error":{"code":0,"message":"error fetching the revision before writing this entry: bad generation (error 2761)"}}\n',
    );
    expect(await d.runText(req('del', { namespace: 'n', entryKey: 'k' }))).toBe(
      '{"error":{"code":0,"message":"error fetching the revision before deleting this entry: bad generation (error 2761)"}}\n',
    );
  });

  it('a reader may read but not write a named team', async () => {
    const { run } = api('carol');
    expect(await run(req('get', { team: 'phoenix', namespace: 'n', entryKey: 'k' }))).toContain(
      '"result"',
    );
    expect(
      await run(req('put', { team: 'phoenix', namespace: 'n', entryKey: 'k', entryValue: 'v' })),
    ).toBe(
      '{"error":{"code":2625,"message":"You do not have permission to write to this team (error 2625)"}}\n',
    );
  });
});

describe('option parsing as Go encoding/json', () => {
  it('option names are case-insensitive (keybase-bot sends entrykey/entryvalue)', async () => {
    const { run } = api();
    const put =
      '{"method":"put","params":{"version":1,"options":{"TEAM":"phoenix","namespace":"n","entrykey":"k","EntryValue":"v"}}}';
    expect(await run(put)).toBe(
      '{"result":{"teamName":"phoenix","namespace":"n","entryKey":"k","revision":1}}\n',
    );
    // Go folds KELVIN SIGN onto K and LONG S onto S.
    const get =
      '{"METHOD":"get","Params":{"OPTIONS":{"team":"phoenix","namespace":"n","entry\u212aey":"k"}}}';
    expect(await run(get)).toContain('"entryValue":"v"');
    expect(
      await run(
        '{"method":"get","params":{"options":{"team":"phoenix","name\u017fpace":"n","entryKey":"k"}}}',
      ),
    ).toContain('"entryValue":"v"');
  });

  it('null counts as absent; unknown keys are ignored', async () => {
    const { run } = api();
    expect(
      await run(
        '{"method":"put","params":{"version":1,"options":{"team":null,"namespace":"n","entryKey":"k","entryValue":"v","revision":null,"extra":[1,{"x":2}]}},"whatever":true}',
      ),
    ).toBe('{"result":{"teamName":"alice,alice","namespace":"n","entryKey":"k","revision":1}}\n');
  });

  it('a later duplicate key wins, but null does not erase a string', async () => {
    const { run } = api();
    expect(
      await run(
        '{"method":"get","params":{"options":{"namespace":"a","namespace":null,"entryKey":"x","ENTRYKEY":"k","team":"phoenix","Team":null}}}',
      ),
    ).toBe(
      '{"result":{"teamName":"alice,alice","namespace":"a","entryKey":"k","entryValue":null,"revision":0}}\n',
    );
  });

  it("required fields and revision checks, with Keybase's texts, in Check() order", async () => {
    const { run } = api();
    const err = (m: string) => `{"error":{"code":0,"message":${JSON.stringify(m)}}}\n`;
    expect(await run(req('get', { entryKey: 'k' }))).toBe(err('`namespace` field required'));
    expect(await run(req('get', { namespace: 'n' }))).toBe(err('`entryKey` field required'));
    expect(await run(req('del', {}))).toBe(err('`namespace` field required'));
    expect(await run('{"method":"get"}')).toBe(err('`namespace` field required'));
    expect(await run(req('put', { namespace: 'n', entryKey: 'k' }))).toBe(
      err('`entryValue` field required'),
    );
    expect(await run(req('put', { namespace: 'n', entryKey: 'k', entryValue: '' }))).toBe(
      err('`entryValue` field required'),
    );
    const positive = err('if setting optional `revision` field, it needs to be a positive integer');
    expect(
      await run(req('put', { namespace: 'n', entryKey: 'k', entryValue: 'v', revision: 0 })),
    ).toBe(positive);
    expect(await run(req('del', { namespace: 'n', entryKey: 'k', revision: -3 }))).toBe(positive);
    // get ignores a revision; list needs nothing.
    expect(await run(req('get', { namespace: 'n', entryKey: 'k', revision: -1 }))).toContain(
      '"result"',
    );
    expect(await run('{"method":"list"}')).toBe(
      '{"result":{"teamName":"alice,alice","namespaces":[]}}\n',
    );
  });

  it("wrong types give Go's UnmarshalTypeError texts", async () => {
    const { run } = api();
    const err = (m: string) => `{"error":{"code":0,"message":${JSON.stringify(m)}}}\n`;
    expect(await run(req('put', { namespace: 'n', entryKey: 'k', entryValue: 5 }))).toBe(
      err(
        'json: cannot unmarshal number into Go struct field putEntryOptions.entryValue of type string',
      ),
    );
    expect(
      await run(
        '{"method":"put","params":{"options":{"namespace":"n","entryKey":"k","entryValue":"v","revision":1.5}}}',
      ),
    ).toBe(
      err(
        'json: cannot unmarshal number 1.5 into Go struct field putEntryOptions.revision of type int',
      ),
    );
    expect(
      await run(
        '{"method":"del","params":{"options":{"namespace":"n","entryKey":"k","revision":"2"}}}',
      ),
    ).toBe(
      err(
        'json: cannot unmarshal string into Go struct field deleteEntryOptions.revision of type int',
      ),
    );
    expect(
      await run(
        '{"method":"del","params":{"options":{"namespace":"n","entryKey":"k","revision":99999999999999999999}}}',
      ),
    ).toBe(
      err(
        'json: cannot unmarshal number 99999999999999999999 into Go struct field deleteEntryOptions.revision of type int',
      ),
    );
    expect(await run('{"method":"list","params":{"options":{"team":true}}}')).toBe(
      err('json: cannot unmarshal bool into Go struct field listOptions.team of type string'),
    );
    // The first type error is reported, after the whole object was decoded.
    expect(await run('{"method":"get","params":{"options":{"namespace":{},"entryKey":[]}}}')).toBe(
      err(
        'json: cannot unmarshal object into Go struct field getEntryOptions.namespace of type string',
      ),
    );
    expect(await run('{"method":"put","params":{"options":[1]}}')).toBe(
      err('json: cannot unmarshal array into Go value of type client.putEntryOptions'),
    );
  });
});

describe('envelope: method, version, login, id and jsonrpc', () => {
  const err = (m: string, extra = '') =>
    `{${extra}"error":{"code":0,"message":${JSON.stringify(m)}}}\n`;

  it("unknown methods, with Go's %q quoting", async () => {
    const { run } = api();
    expect(await run(req('delete', {}))).toBe(err('invalid v1 method "delete"'));
    expect(await run('{"method":"GET"}')).toBe(err('invalid v1 method "GET"'));
    expect(await run('{"params":{}}')).toBe(err('invalid v1 method ""'));
    expect(await run('{"method":"a\\"b\\n\\u0001é"}')).toBe(
      err('invalid v1 method "a\\"b\\n\\x01é"'),
    );
  });

  it('versions 0 and 1 (or none) are accepted, others refused before the method', async () => {
    const { run } = api();
    expect(await run('{"method":"list","params":{"version":0}}')).toContain('"result"');
    expect(await run('{"method":"nope","params":{"version":2}}')).toBe(err('invalid version 2'));
    expect(await run('{"method":"list","params":{"version":-1}}')).toBe(err('invalid version -1'));
  });

  it('not logged in is checked after the method, before the options', async () => {
    const { run } = api(null);
    expect(await run(req('get', {}))).toBe(err('not logged in'));
    expect(await run(req('nope', {}))).toBe(err('invalid v1 method "nope"'));
  });

  it('id and jsonrpc are echoed first (omitted when 0 or empty)', async () => {
    const { run } = api();
    expect(await run('{"jsonrpc":"2.0","id":7,"method":"list"}')).toBe(
      '{"jsonrpc":"2.0","id":7,"result":{"teamName":"alice,alice","namespaces":[]}}\n',
    );
    expect(await run('{"id":9223372036854775807,"method":"x"}')).toBe(
      err('invalid v1 method "x"', '"id":9223372036854775807,'),
    );
    expect(await run('{"id":0,"jsonrpc":"","method":"list"}')).toBe(
      '{"result":{"teamName":"alice,alice","namespaces":[]}}\n',
    );
  });

  it('envelope errors are never indented, option errors are (with -p)', async () => {
    const { run } = api('alice', true);
    expect(await run('{"method":"nope"}')).toBe(err('invalid v1 method "nope"'));
    expect(await run('{"method":"get"}')).toBe(
      '{\n    "error": {\n        "code": 0,\n        "message": "`namespace` field required"\n    }\n}\n',
    );
  });
});

describe('the request stream', () => {
  it('answers each request of a stream, with or without whitespace between', async () => {
    const { run } = api();
    const out = await run(
      `${req('put', { namespace: 'n', entryKey: 'k', entryValue: 'v' })}${req('get', { namespace: 'n', entryKey: 'k' })}\n\n ${req('list', {})}`,
    );
    expect(out.split('\n')).toEqual([
      '{"result":{"teamName":"alice,alice","namespace":"n","entryKey":"k","revision":1}}',
      '{"result":{"teamName":"alice,alice","namespace":"n","entryKey":"k","entryValue":"v","revision":1}}',
      '{"result":{"teamName":"alice,alice","namespaces":["n"]}}',
      '',
    ]);
  });

  it('a request inherits id, method and options it leaves out (Go reuses one Call)', async () => {
    const { run } = api();
    const out = await run(
      '{"id":3,"method":"get","params":{"options":{"namespace":"n","entryKey":"k"}}} {"params":{"version":1}} {"id":4,"method":"list","params":{"options":null}}',
    );
    expect(out).toBe(
      '{"id":3,"result":{"teamName":"alice,alice","namespace":"n","entryKey":"k","entryValue":null,"revision":0}}\n' +
        '{"id":3,"result":{"teamName":"alice,alice","namespace":"n","entryKey":"k","entryValue":null,"revision":0}}\n' +
        '{"id":4,"result":{"teamName":"alice,alice","namespaces":[]}}\n',
    );
  });

  it('empty or blank input gives no reply', async () => {
    const { run } = api();
    expect(await run('')).toBe('');
    expect(await run(' \n\t ')).toBe('');
  });

  it('truncated input: earlier replies, then "expected more JSON", then the stream ends', async () => {
    const { run } = api();
    expect(await run(`{"id":2,"method":"list"} {"method":"get","params":`)).toBe(
      '{"id":2,"result":{"teamName":"alice,alice","namespaces":[]}}\n' +
        '{"id":2,"error":{"code":0,"message":"invalid JSON: expected more JSON in input"}}\n',
    );
    expect(await run('-')).toBe(
      '{"error":{"code":0,"message":"invalid JSON: expected more JSON in input"}}\n',
    );
  });

  it("syntax errors use Go's scanner texts and end the stream", async () => {
    const { run } = api();
    const cases: [string, string][] = [
      ['x', "invalid character 'x' looking for beginning of value"],
      ['}', "invalid character '}' looking for beginning of value"],
      ['{method:1}', "invalid character 'm' looking for beginning of object key string"],
      ['{"a" 1}', "invalid character '1' after object key"],
      ['{"a":1 "b":2}', `invalid character '"' after object key:value pair`],
      ['{"a":[1 2]}', "invalid character '2' after array element"],
      ['{"a":[1,]}', "invalid character ']' looking for beginning of value"],
      ['{"a":1,}', "invalid character '}' looking for beginning of object key string"],
      ['{"a":"\u0001"}', "invalid character '\\x01' in string literal"],
      ['{"a":"\n"}', "invalid character '\\n' in string literal"],
      ['{"a":"\\x"}', "invalid character 'x' in string escape code"],
      ['{"a":"\\u12g4"}', "invalid character 'g' in \\u hexadecimal character escape"],
      ['{"a":-x}', "invalid character 'x' in numeric literal"],
      ['{"a":1.}', "invalid character '}' after decimal point in numeric literal"],
      ['{"a":1e+}', "invalid character '}' in exponent of numeric literal"],
      ['{"a":01}', "invalid character '1' after object key:value pair"],
      ['{"a":tru}', "invalid character '}' in literal true (expecting 'e')"],
      ['{"a":nul!}', "invalid character '!' in literal null (expecting 'l')"],
      ['{"a":fa}', "invalid character '}' in literal false (expecting 'l')"],
      ["{'a':1}", "invalid character '\\'' looking for beginning of object key string"],
      ['\u00e9', "invalid character 'Ã' looking for beginning of value"],
      ['{"a":\\}', "invalid character '\\\\' looking for beginning of value"],
    ];
    for (const [input, message] of cases) {
      expect(await run(`{"method":"list"}${input}`), input).toBe(
        '{"result":{"teamName":"alice,alice","namespaces":[]}}\n' +
          `{"error":{"code":0,"message":${JSON.stringify(message)}}}\n`,
      );
    }
    expect(await run('['.repeat(10_001))).toBe(
      `{"error":{"code":0,"message":"invalid character '[' exceeded max depth"}}\n`,
    );
  });

  it("a value of the wrong type ends the stream with Go's text (echoing what did decode)", async () => {
    const { run } = api();
    const err = (m: string, extra = '') =>
      `{${extra}"error":{"code":0,"message":${JSON.stringify(m)}}}\n`;
    expect(await run('[1] {"method":"list"}')).toBe(
      err('json: cannot unmarshal array into Go value of type client.Call'),
    );
    expect(await run('"x"')).toBe(
      err('json: cannot unmarshal string into Go value of type client.Call'),
    );
    expect(await run('5')).toBe(
      err('json: cannot unmarshal number into Go value of type client.Call'),
    );
    expect(await run('{"id":"1","method":"list"}')).toBe(
      err('json: cannot unmarshal string into Go struct field Call.ID of type int'),
    );
    expect(await run('{"id":1.5,"method":"list"}')).toBe(
      err('json: cannot unmarshal number 1.5 into Go struct field Call.ID of type int'),
    );
    expect(await run('{"method":5}')).toBe(
      err('json: cannot unmarshal number into Go struct field Call.Method of type string'),
    );
    expect(await run('{"params":"x","id":5}')).toBe(
      err(
        'json: cannot unmarshal string into Go struct field Call.Params of type client.Params',
        '"id":5,',
      ),
    );
    expect(await run('{"params":{"version":"1"}}')).toBe(
      err('json: cannot unmarshal string into Go struct field Params.Params.Version of type int'),
    );
  });

  it('null as a whole request replays the previous call', async () => {
    const { run } = api();
    expect(await run('{"id":1,"method":"list"} null')).toBe(
      '{"id":1,"result":{"teamName":"alice,alice","namespaces":[]}}\n'.repeat(2),
    );
  });

  it('answers a request before the input ends (interactive use)', async () => {
    const backend = new InMemoryKvstoreBackendForTests('alice');
    const d = new KvstoreApi(backend);
    const replies: string[] = [];
    let seenBeforeSecond = -1;
    async function* input() {
      yield new TextEncoder().encode('{"id":1,"method":"li');
      yield new TextEncoder().encode('st"}');
      await new Promise((r) => setTimeout(r, 10));
      seenBeforeSecond = replies.length;
      yield new TextEncoder().encode('{"id":2,"method":"list"}');
    }
    await d.run(input(), (r) => {
      replies.push(r);
    });
    expect(seenBeforeSecond).toBe(1);
    expect(replies).toHaveLength(2);
  });
});

describe('long input (#12.1)', () => {
  it('values far over the call stack round-trip: 130,000 and 3,000,000 ASCII bytes', async () => {
    const { run } = api();
    for (const [key, value] of [
      ['k130', 'a'.repeat(130_000)],
      ['k3m', 'b'.repeat(3_000_000)],
      ['kmix', `${'c'.repeat(200_000)}é${'d'.repeat(200_000)}\\n${'e'.repeat(200_000)}`],
    ] as const) {
      expect(await run(req('put', { namespace: 'n', entryKey: key, entryValue: value }))).toBe(
        `{"result":{"teamName":"alice,alice","namespace":"n","entryKey":"${key}","revision":1}}\n`,
      );
      const reply = await run(req('get', { namespace: 'n', entryKey: key }));
      expect(reply.endsWith('}\n') && reply.split('\n').length).toBe(2);
      expect((JSON.parse(reply) as { result: { entryValue: string } }).result.entryValue).toBe(
        value,
      );
    }
  });

  it('a number literal longer than the stack allows is a type error reply', async () => {
    const { run } = api();
    const digits = '7'.repeat(300_000);
    const out = await run(`{"id":${digits},"method":"list"}`);
    expect(out).toBe(
      `{"error":{"code":0,"message":"json: cannot unmarshal number ${digits} into Go struct field Call.ID of type int"}}\n`,
    );
  });

  it('a failing input stream ends with one JSON error reply, not an exception', async () => {
    const backend = new InMemoryKvstoreBackendForTests('alice');
    const d = new KvstoreApi(backend);
    async function* input(): AsyncGenerator<Uint8Array> {
      yield new TextEncoder().encode('{"method":"list"} {"meth');
      await Promise.resolve();
      throw Object.assign(new Error('EISDIR: illegal operation on a directory, read'), {
        code: 'EISDIR',
      });
    }
    let out = '';
    await d.run(input(), (r) => {
      out += r;
    });
    expect(out).toBe(
      '{"result":{"teamName":"alice,alice","namespaces":[]}}\n' +
        '{"error":{"code":0,"message":"cannot read the requests: is a directory"}}\n',
    );
  });
});

describe('strings in and out as Go', () => {
  it('replies escape <, >, &, U+2028/2029 and controls like Go; other text stays raw', async () => {
    const { run } = api();
    const value = '<a href="x">&</a>\u2028\u2029\b\f\n\t\u0000é😀';
    await run(req('put', { namespace: 'n', entryKey: 'k', entryValue: value }));
    expect(await run(req('get', { namespace: 'n', entryKey: 'k' }))).toBe(
      '{"result":{"teamName":"alice,alice","namespace":"n","entryKey":"k","entryValue":"\\u003ca href=\\"x\\"\\u003e\\u0026\\u003c/a\\u003e\\u2028\\u2029\\u0008\\u000c\\n\\t\\u0000é😀","revision":1}}\n',
    );
  });

  it('invalid UTF-8 and lone surrogate escapes become U+FFFD, pairs are joined', async () => {
    const backend = new InMemoryKvstoreBackendForTests('alice');
    const d = new KvstoreApi(backend);
    const head = new TextEncoder().encode(
      '{"method":"put","params":{"options":{"namespace":"n","entryKey":"k","entryValue":"a',
    );
    const tail = new TextEncoder().encode('\\ud800\\ud83d\\ude00\\udc00"}}}');
    const bytes = new Uint8Array([...head, 0xff, 0xed, 0xa0, 0x80, ...tail]);
    let out = '';
    await d.run([bytes], (r) => {
      out += r;
    });
    expect(out).toContain('"revision":1');
    expect((await backend.get('implicit:alice#', 'n', 'k')).entryValue).toBe(
      'a\ufffd\ufffd\ufffd\ufffd\ufffd😀\ufffd',
    );
  });
});
