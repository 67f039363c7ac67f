/**
 * The bench's load generator, run as its own process (forked by bench/bench.ts) so that its CPU
 * is measured apart from the server's. It drives `clients` concurrent clients over real
 * keep-alive sockets (node:http); every request is signed with the client's own Ed25519 device
 * key exactly as `@saltbox/client` signs (protocol `signRequest`), and every append carries a
 * real `subkey` link built and signed with `@saltbox/identity`'s builders.
 *
 * Protocol (IPC messages from the parent): `setup` signs up this process's users through the
 * API; `run` runs one phase and answers with its latencies and this process's CPU time; `exit`.
 */
import { Agent, request as httpRequest } from 'node:http';
import { defaultBackend } from '@saltbox/saltpack';
import { buildSubkeyLink, curve25519Kid } from '@saltbox/identity';
import { chainPath, generateNonce, signRequest } from '@saltbox/protocol';
import { newUser } from '../test/helpers.js';
import type { TestUser } from '../test/helpers.js';

/** A message from bench/bench.ts. */
export type LoadCommand =
  | { type: 'setup'; url: string; clients: number; prefix: string }
  | { type: 'run'; op: 'lookup' | 'append'; seconds: number; clients: number; users: number }
  | { type: 'exit' };

/** A message to bench/bench.ts. */
export type LoadReply =
  | { type: 'ready' }
  | {
      type: 'result';
      /** Per-request latencies, ms. */
      latencies: number[];
      errors: number;
      /** The first few distinct error bodies, for diagnosis. */
      samples: string[];
      seconds: number;
      /** This process's CPU time during the phase, seconds. */
      cpuSeconds: number;
    }
  | { type: 'error'; message: string };

const backend = await defaultBackend();
/** Each client's server: with several (a comma-separated `url`), clients are spread over them. */
const baseOf = new Map<TestUser, URL>();
let agent: Agent;
const users: TestUser[] = [];

interface Reply {
  status: number;
  body: string;
}

/** One signed request over the keep-alive agent. */
function send(user: TestUser, method: string, path: string, body?: unknown): Promise<Reply> {
  const bytes =
    body === undefined ? new Uint8Array(0) : new TextEncoder().encode(JSON.stringify(body));
  const device = user.devices[0]!;
  const authorization = signRequest(backend, device.signing.secretKey, {
    method,
    target: path,
    body: bytes,
    timestamp: Date.now(),
    nonce: generateNonce(backend),
    kid: device.kid,
  });
  const base = baseOf.get(user) ?? baseOf.values().next().value!;
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: base.hostname,
        port: base.port,
        method,
        path,
        agent,
        headers: {
          authorization,
          ...(bytes.length > 0
            ? { 'content-type': 'application/json', 'content-length': String(bytes.length) }
            : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(bytes.length > 0 ? bytes : undefined);
  });
}

async function setup(url: string, clients: number, prefix: string): Promise<void> {
  const bases = url.split(',').map((u) => new URL(u));
  agent = new Agent({ keepAlive: true, maxSockets: clients, maxFreeSockets: clients });
  for (let c = 0; c < clients; c++) {
    const { user, request } = newUser(backend, `${prefix}${c}`);
    baseOf.set(user, bases[c % bases.length]!);
    const res = await send(user, 'POST', '/api/v1/users', request);
    if (res.status !== 201) throw new Error(`sign-up failed: ${res.status} ${res.body}`);
    users.push(user);
  }
}

async function lookup(user: TestUser, seeded: number): Promise<Reply> {
  const name = `bench_${Math.floor(Math.random() * seeded)}`;
  return send(user, 'GET', `/api/v1/users/lookup?usernames=${name}`);
}

async function append(user: TestUser): Promise<Reply> {
  const d = user.devices[0]!;
  const last = user.links[user.links.length - 1]!;
  const built = buildSubkeyLink(
    backend,
    {
      uid: user.uid,
      username: user.username,
      seqno: user.links.length + 1,
      prev: last.linkId,
      eldestKid: user.eldestKid,
      ctime: Math.floor(Date.now() / 1000),
    },
    { secretKey: d.signing.secretKey },
    curve25519Kid(backend.x25519PublicKey(backend.randomBytes(32))),
  );
  const res = await send(user, 'POST', chainPath(user.username), { links: [built.link] });
  if (res.status === 200) user.links.push(built);
  return res;
}

async function run(
  op: 'lookup' | 'append',
  seconds: number,
  clients: number,
  seeded: number,
): Promise<LoadReply> {
  const latencies: number[] = [];
  const samples: string[] = [];
  let errors = 0;
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  const end = started + seconds * 1000;
  await Promise.all(
    users.slice(0, clients).map(async (user) => {
      while (performance.now() < end) {
        const t = performance.now();
        const res = op === 'lookup' ? await lookup(user, seeded) : await append(user);
        latencies.push(performance.now() - t);
        if (res.status !== 200) {
          errors++;
          if (samples.length < 5 && !samples.includes(res.body)) samples.push(res.body);
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return {
    type: 'result',
    latencies,
    errors,
    samples,
    seconds: elapsed,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}

process.on('message', (msg: LoadCommand) => {
  const reply = (r: LoadReply) => process.send!(r);
  void (async () => {
    try {
      if (msg.type === 'setup') {
        await setup(msg.url, msg.clients, msg.prefix);
        reply({ type: 'ready' });
      } else if (msg.type === 'run') {
        reply(await run(msg.op, msg.seconds, msg.clients, msg.users));
      } else {
        agent.destroy();
        process.disconnect();
      }
    } catch (e) {
      reply({ type: 'error', message: e instanceof Error ? e.message : String(e) });
    }
  })();
});
