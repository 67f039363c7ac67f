// Benchmark helper: an agent in its own process over a fresh file keystore (argv: dir, socket).
import { startAgent } from '@saltbox/keystore/node';

const [keystoreDir, socketPath] = process.argv.slice(2);
const agent = await startAgent({
  socketPath: socketPath!,
  keystoreDir: keystoreDir!,
  idleLockMs: null,
  kdf: { alg: 'scrypt', params: { N: 1024, r: 8, p: 1 } },
});
process.stdout.write('ready\n');
await agent.stopped;
