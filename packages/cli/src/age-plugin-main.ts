#!/usr/bin/env node
/**
 * `age-plugin-saltbox`: the age plugin binary (C2SP age-plugin). age runs it with
 * `--age-plugin=recipient-v1` (encrypt to `age1saltbox1…`) or `--age-plugin=identity-v1`
 * (decrypt with an `AGE-PLUGIN-SALTBOX-1…` identity). It acts as the account of
 * `$SALTBOX_HOME` and reaches keys only through the running keystore agent.
 *
 * @packageDocumentation
 */
import { runAgePlugin } from '@saltbox/provider';
import { accountProvider } from './provider-commands.js';

const mode = process.argv.find((a) => a.startsWith('--age-plugin='))?.slice('--age-plugin='.length);
if (mode === undefined) {
  process.stderr.write(
    'age-plugin-saltbox is run by age: use age -r $(saltbox age recipient USER) or age -d -i FILE\n',
  );
  process.exitCode = 2;
} else {
  const io = { input: process.stdin, write: (s: string) => void process.stdout.write(s) };
  try {
    const provider = await accountProvider();
    try {
      await runAgePlugin(mode, io, provider.ageHandlers);
    } finally {
      await provider.close();
    }
  } catch (e) {
    // Not logged in, or a broken exchange: age shows this and fails.
    const message = e instanceof Error ? e.message : 'internal error';
    process.stderr.write(`age-plugin-saltbox: ${message}\n`);
    process.exitCode = 1;
  }
}
