/**
 * Makes `test/fixtures/pgp-v2-links.json`: a user sigchain whose links are sigchain-v2 links
 * signed by a PGP key, written by Keybase's own npm libraries (`kbpgp` for the key and the PGP
 * signatures, `keybase-proofs` for the inner JSON, the outer link and its signing), and checked
 * with `keybase-proofs`' own v2 verifier, whose verdict is recorded beside each link (issue
 * #12.22). Run from the repository root:
 *
 *   node packages/identity/scripts/pgp-v2-fixture.mjs > packages/identity/test/fixtures/pgp-v2-links.json
 *
 * The keys are fresh on every run, so the output differs each time; the test reads whatever was
 * vendored. Nothing here is secret: the private keys are thrown away.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const kbpgp = require('kbpgp');
const proofs = require('keybase-proofs');
const purepack = require('purepack');

const CTIME = 1_700_000_000;
const USERNAME = 'pgp_v2_alice';

const sha256 = (bytes) => createHash('sha256').update(bytes).digest();
/** Keybase's UID of a username: the first 15 bytes of SHA-256(username), then 0x19. */
const uid = sha256(Buffer.from(USERNAME)).subarray(0, 15).toString('hex') + '19';

/** Turns a `cb(err, ...results)` call into a promise of the results. */
function call(fn) {
  return new Promise((resolve, reject) =>
    fn((err, ...rest) => (err ? reject(err) : resolve(rest.length > 1 ? rest : rest[0]))),
  );
}

async function pgpKey(email) {
  // ECDSA P-256 primary key with an ECDH subkey: a PGP key kbpgp makes quickly.
  const km = await call((cb) =>
    kbpgp.KeyManager.generate_ecc({ userid: `Fixture <${email}>` }, cb),
  );
  await call((cb) => km.sign({}, cb));
  const armored = await call((cb) => km.export_pgp_public({}, cb));
  return { km, armored, kid: km.get_ekid().toString('hex') };
}

function constructorArg(signer, seqno, prev, eldestKid) {
  return {
    user: { local: { uid, username: USERNAME } },
    host: 'keybase.io',
    sig_eng: signer.km.make_sig_eng(),
    seqno,
    prev,
    ctime: CTIME + seqno,
    seq_type: proofs.constants.seq_types.PUBLIC,
    ...(eldestKid === undefined ? {} : { eldest_kid: eldestKid }),
  };
}

/** A `sig/get` simple-form link (spec §3.9) from a `generate_v2` result. */
function serverLink(out, signer, seqno, prev) {
  return {
    seqno,
    prev,
    sig: out.armored,
    payload_json: out.inner.str,
    kid: signer.kid,
    sig_version: 2,
    sig_id: out.id + '0f',
    payload_hash: sha256(out.outer).toString('hex'),
    ctime: CTIME + seqno,
  };
}

/** What `keybase-proofs`' own v2 verifier says about a link: "ok" or its error message. */
async function keybaseVerdict(type, arg, link) {
  const verifier = proofs.alloc(type, arg);
  try {
    await call((cb) =>
      verifier.verify_v2(
        {
          armored: link.sig,
          inner: link.payload_json,
          skip_ids: true,
          make_ids: true,
          skip_clock_skew_check: true,
          now: CTIME + 10,
        },
        cb,
      ),
    );
    return 'ok';
  } catch (e) {
    return String(e.message);
  }
}

/** Generates a link, optionally rewriting one outer-link field before it is signed. */
async function generate(Klass, arg, rewriteOuter) {
  const link = new Klass(arg);
  if (rewriteOuter) {
    const original = link.generate_outer.bind(link);
    link.generate_outer = (args, cb) =>
      original(args, (err, packed, unpacked) => {
        if (err) return cb(err);
        const fields = purepack.unpack(packed);
        rewriteOuter(fields);
        return cb(null, purepack.pack(fields), unpacked);
      });
  }
  return call((cb) => link.generate_v2(cb));
}

const alice = await pgpKey('alice@example.org');
const mallory = await pgpKey('mallory@example.org');
const device = await call((cb) => kbpgp.kb.KeyManager.generate({}, cb));

// Seqno 1: the eldest link, v2, signed by the PGP key.
const eldestArg = constructorArg(alice, 1, null);
const eldestOut = await generate(proofs.Eldest, eldestArg);
const eldest = serverLink(eldestOut, alice, 1, null);

// Seqno 2: a sibkey link, v2, signed by the PGP key, delegating a NaCl key (reverse-signed).
const prev = eldest.payload_hash;
const sibArg = () => ({ ...constructorArg(alice, 2, prev, alice.kid), sibkm: device });
const sibOut = await generate(proofs.Sibkey, sibArg());
const sibkey = serverLink(sibOut, alice, 2, prev);

// Bad variants of seqno 2, each signed by the PGP key over an outer link that disagrees with
// its inner JSON: the type code of a subkey, and seqno 3.
const typeOut = await generate(proofs.Sibkey, sibArg(), (f) => {
  f[4] = proofs.constants.sig_types_v2.subkey;
});
const seqnoOut = await generate(proofs.Sibkey, sibArg(), (f) => {
  f[1] = 3;
});
// The good outer link signed by another PGP key.
const otherSig = await call((cb) => mallory.km.make_sig_eng().box(sibOut.outer, cb));

const links = {
  eldest,
  sibkey,
  sibkey_outer_type_mismatch: serverLink(typeOut, alice, 2, prev),
  sibkey_outer_seqno_mismatch: serverLink(seqnoOut, alice, 2, prev),
  sibkey_signed_by_other_key: { ...sibkey, sig: otherSig.armored },
};
const verdicts = {};
for (const [name, link] of Object.entries(links)) {
  const [type, arg] =
    name === 'eldest'
      ? ['eldest', eldestArg]
      : ['sibkey', { ...sibArg(), sig_eng: alice.km.make_sig_eng() }];
  verdicts[name] = await keybaseVerdict(type, arg, link);
}

const fixture = {
  about:
    'PGP-signed sigchain v2 links made by kbpgp and keybase-proofs; see packages/identity/test/fixtures/README.md',
  generator: 'packages/identity/scripts/pgp-v2-fixture.mjs',
  libraries: {
    kbpgp: require('kbpgp/package.json').version,
    'keybase-proofs': require('keybase-proofs/package.json').version,
  },
  username: USERNAME,
  uid,
  pgp_public_key: alice.armored,
  pgp_kid: alice.kid,
  other_pgp_public_key: mallory.armored,
  device_kid: device.get_ekid().toString('hex'),
  keybase_proofs_verify_v2: verdicts,
  links,
};
process.stdout.write(JSON.stringify(fixture, null, 2) + '\n');
