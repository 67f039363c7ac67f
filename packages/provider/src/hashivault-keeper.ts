/**
 * A `hashivault://<key>` keeper speaking Vault transit over HTTP, as Go CDK's hashivault
 * keeper does (spec keystore-and-secrets-providers §2.4): `PUT /v1/<engine>/encrypt/<key>` with
 * `{"plaintext": base64}`, the ciphertext string's bytes returned verbatim, and back. It lets
 * TypeScript programs (and the tests and benchmark) use the agent's bridge exactly the way
 * Pulumi does; `VAULT_ADDR` may be `unix:///path.sock`.
 *
 * @packageDocumentation
 */
import { request } from 'node:http';
import { ProviderError, errorCodeOf } from './errors.js';
import type { ErrorCode } from './errors.js';
import { Keeper, findInCauses } from './keeper.js';
import type { KeeperDriver } from './keeper.js';
import { checkParams } from './mux.js';
import type { KeeperOpener } from './mux.js';

/** Options of {@link hashivaultKeeper}. */
export interface HashivaultOptions {
  /** `http://127.0.0.1:8200` or `unix:///path/to.sock`. */
  address: string;
  token: string;
  keyId: string;
  /** Mount (default `transit`). */
  engine?: string;
}

interface Reply {
  status: number;
  json: unknown;
}

function send(o: HashivaultOptions, path: string, body: unknown): Promise<Reply> {
  const text = JSON.stringify(body);
  const unix = o.address.startsWith('unix://') ? o.address.slice('unix://'.length) : undefined;
  const base = unix ? undefined : new URL(o.address);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        method: 'PUT',
        ...(unix
          ? { socketPath: unix }
          : { host: base!.hostname.replace(/^\[|\]$/g, ''), port: base!.port }),
        path,
        headers: {
          'content-length': Buffer.byteLength(text),
          'x-vault-request': 'true',
          'x-vault-token': o.token,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          let json: unknown = null;
          try {
            json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            json = null;
          }
          resolve({ status: res.statusCode ?? 0, json });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}

function field(reply: Reply, name: string): string {
  const data = (reply.json as { data?: Record<string, unknown> } | null)?.data;
  const v = data?.[name];
  if (reply.status >= 200 && reply.status < 300 && typeof v === 'string') return v;
  const errs = (reply.json as { errors?: unknown } | null)?.errors;
  const first = Array.isArray(errs) && typeof errs[0] === 'string' ? errs[0] : 'no answer';
  const code: ErrorCode =
    reply.status === 400
      ? 'InvalidArgument'
      : reply.status === 403
        ? 'PermissionDenied'
        : reply.status === 503 || reply.status === 412
          ? 'FailedPrecondition'
          : reply.status === 429
            ? 'ResourceExhausted'
            : 'Unknown';
  return (() => {
    throw new ProviderError(code, 'PROVIDER_VAULT_REFUSED', `vault answered ${reply.status}`, {
      status: reply.status,
      vaultError: first.slice(0, 200),
    });
  })();
}

function transport(e: unknown): ProviderError {
  if (e instanceof ProviderError) return e;
  return new ProviderError(
    'Unknown',
    'PROVIDER_NO_AGENT',
    "cannot reach the vault bridge: check VAULT_ADDR and 'saltbox agent status'",
    { cause: e instanceof Error ? ((e as NodeJS.ErrnoException).code ?? e.name) : 'unknown' },
    { cause: e },
  );
}

class HashivaultDriver implements KeeperDriver {
  readonly #o: HashivaultOptions;
  constructor(o: HashivaultOptions) {
    this.#o = o;
  }
  #path(op: string): string {
    return `/v1/${this.#o.engine ?? 'transit'}/${op}/${this.#o.keyId}`;
  }
  async encrypt(plaintext: Uint8Array): Promise<Uint8Array> {
    const reply = await send(this.#o, this.#path('encrypt'), {
      plaintext: Buffer.from(plaintext).toString('base64'),
    }).catch((e: unknown) => {
      throw transport(e);
    });
    return new TextEncoder().encode(field(reply, 'ciphertext'));
  }
  async decrypt(ciphertext: Uint8Array): Promise<Uint8Array> {
    const reply = await send(this.#o, this.#path('decrypt'), {
      ciphertext: new TextDecoder().decode(ciphertext),
    }).catch((e: unknown) => {
      throw transport(e);
    });
    return new Uint8Array(Buffer.from(field(reply, 'plaintext'), 'base64'));
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  errorCode(err: unknown): ErrorCode {
    return errorCodeOf(err);
  }
  errorAs<T>(err: unknown, type: abstract new (...args: never[]) => T): T | undefined {
    return findInCauses(err, type);
  }
}

/** A keeper calling a Vault transit endpoint (the saltbox agent's bridge, or Vault). */
export function hashivaultKeeper(options: HashivaultOptions): Keeper {
  return new Keeper(new HashivaultDriver(options));
}

/**
 * The `hashivault://<key>?engine=<mount>` opener, reading `VAULT_SERVER_URL` / `VAULT_ADDR`
 * and `VAULT_SERVER_TOKEN` / `VAULT_TOKEN` like Go CDK's default opener.
 *
 * @throws ProviderError `InvalidArgument` (`PROVIDER_BAD_URL`) for other parameters;
 *   `FailedPrecondition` (`PROVIDER_NO_AGENT`) when no address is set — run
 *   `eval "$(saltbox pulumi env)"`.
 */
export function hashivaultOpener(
  env: Record<string, string | undefined> = process.env,
): KeeperOpener {
  return (url) => {
    checkParams(url, ['engine']);
    const address = env.VAULT_SERVER_URL ?? env.VAULT_ADDR;
    if (!address)
      throw new ProviderError(
        'FailedPrecondition',
        'PROVIDER_NO_AGENT',
        'VAULT_ADDR is not set: run eval "$(saltbox pulumi env)"',
      );
    const engine = url.params.get('engine');
    return Promise.resolve(
      hashivaultKeeper({
        address,
        token: env.VAULT_SERVER_TOKEN ?? env.VAULT_TOKEN ?? '',
        keyId: url.id,
        ...(engine ? { engine } : {}),
      }),
    );
  };
}
