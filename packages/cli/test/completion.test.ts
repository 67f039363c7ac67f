/**
 * `saltbox completion bash|zsh|fish` (issue 13 item 5), printed by the built CLI and loaded
 * into the real shells (zsh and fish installed by scripts/ensure-shells.sh when missing):
 * each script passes its shell's syntax check; bash's and fish's completions are driven for
 * every command of the command table — `_saltbox` with `COMP_WORDS`/`COMP_CWORD` in bash,
 * `complete -C` in fish — so a command added to cli.ts is checked without touching this file.
 * zsh's completion widgets only run inside its line editor, so zsh is checked by `compinit`
 * registering `_saltbox` (sourced and from `$fpath`) and by running `_saltbox` with zsh's
 * `_describe`/`_arguments` replaced by stand-ins that print what they were given.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../src/cli.js';
import { ROOT, ensureBuilt, run } from './helpers.js';

let dir = '';
const scripts: Record<string, string> = {};

beforeAll(async () => {
  await ensureBuilt();
  execFileSync('sh', [join(ROOT, 'packages/cli/scripts/ensure-shells.sh')], { stdio: 'inherit' });
  dir = mkdtempSync(join(tmpdir(), 'saltbox-completion-'));
  for (const shell of ['bash', 'zsh', 'fish']) {
    const r = await run(['completion', shell]);
    expect(r.code, r.stderr).toBe(0);
    scripts[shell] = join(dir, `saltbox.${shell}`);
    writeFileSync(scripts[shell], r.stdout);
  }
  // Files for flag values to complete to.
  writeFileSync(join(dir, 'report.pdf'), '');
  writeFileSync(join(dir, 'reply.asc'), '');
}, 180_000);

afterAll(() => {
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

/** The command table's view for the oracle: groups, top-level words, each command's flags. */
const keys = Object.keys(COMMANDS);
const groups = new Map<string, string[]>();
for (const key of keys) {
  const [g, sub] = key.split(' ');
  if (sub !== undefined) groups.set(g!, [...(groups.get(g!) ?? []), sub]);
}
const topWords = [...new Set(keys.map((k) => k.split(' ')[0]!))].sort();
const ownFlags = (key: string): string[] =>
  Object.entries(COMMANDS[key]!.options).flatMap(([name, o]) =>
    name.length === 1
      ? [`-${name}`]
      : [...(o.short === undefined ? [] : [`-${o.short}`]), `--${name}`],
  );
/**
 * A word that is a plain command and a group too (`server`, `server invite`) completes as one
 * command: its argument may be a subcommand, and it takes the flags of all of them.
 */
const hybrid = (key: string): string | undefined => {
  const first = key.split(' ')[0]!;
  return Object.hasOwn(COMMANDS, first) && groups.has(first) ? first : undefined;
};
const flagsOf = (key: string): string[] => {
  const h = hybrid(key);
  const all =
    h === undefined
      ? ownFlags(key)
      : [h, ...groups.get(h)!.map((s) => `${h} ${s}`)].flatMap(ownFlags);
  return [...new Set(all)].sort();
};

const sq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** Runs `script` in a shell in the scratch directory and returns its standard output. */
function shell(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, {
    cwd: dir,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, LANG: 'C.UTF-8' },
  });
  if (r.status !== 0) throw new Error(`${cmd} exited ${r.status ?? r.signal}: ${r.stderr}`);
  return r.stdout;
}

/**
 * Completes each command line in one bash (the last word is the one being completed) and
 * returns the sorted candidates per line.
 */
function bashComplete(lines: string[][]): string[][] {
  const script = [
    `source ${sq(scripts.bash!)}`,
    'c() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=(); _saltbox; printf "%s\\n" "${COMPREPLY[*]}"; }',
    ...lines.map((l) => `c ${l.map(sq).join(' ')}`),
  ].join('\n');
  const out = shell('bash', ['--norc', '--noprofile', '-c', script]);
  return out
    .split('\n')
    .slice(0, lines.length)
    .map((l) => (l === '' ? [] : l.split(' ').sort()));
}

/** Completes each command line with fish's `complete -C`; candidates without descriptions. */
function fishComplete(lines: string[]): string[][] {
  const script = [
    `source ${sq(scripts.fish!)}`,
    ...lines.map((l) => `complete -C ${sq(l)}; echo '<end>'`),
  ].join('\n');
  const out = shell('fish', ['--no-config', '-c', script]);
  return out
    .split('<end>\n')
    .slice(0, lines.length)
    .map((block) =>
      block
        .split('\n')
        .filter((x) => x !== '')
        .map((x) => x.split('\t')[0]!)
        .sort(),
    );
}

describe('saltbox completion', () => {
  it('prints a script for bash, zsh and fish; no shell or another one is a usage error', async () => {
    const none = await run(['completion']);
    expect(none.code).toBe(2);
    expect(none.stderr).toBe(
      "saltbox: completion takes one shell: bash, zsh or fish\nsaltbox: hint: run 'saltbox completion --help'\n",
    );
    const tcsh = await run(['completion', 'tcsh']);
    expect(tcsh.code).toBe(2);
    expect(tcsh.stderr).toBe(
      'saltbox: unknown shell "tcsh"\nsaltbox: hint: use one of bash, zsh, fish\n',
    );
    const help = await run(['completion', '--help']);
    expect(help.out).toContain('source <(saltbox completion bash)');
  });

  it('bash: bash -n accepts the script, and sourcing it registers _saltbox for saltbox', () => {
    shell('bash', ['-n', scripts.bash!]);
    const out = shell('bash', ['--norc', '-c', `source ${sq(scripts.bash!)}; complete -p saltbox`]);
    expect(out).toBe('complete -F _saltbox saltbox\n');
  });

  it('bash completes commands, subcommands, flags, file names for flag values, and fixed arguments', () => {
    const [top, ag, kv, put, file, afterFlag, shells, user] = bashComplete([
      ['saltbox', ''],
      ['saltbox', 'ag'],
      ['saltbox', 'kv', ''],
      ['saltbox', 'kv', 'put', '--'],
      ['saltbox', 'encrypt', '-i', 're'],
      ['saltbox', 'kv', 'put', '--team', 'acme', '--j'],
      ['saltbox', 'completion', ''],
      ['saltbox', 'signup', 'al'],
    ]);
    expect(top).toEqual(topWords);
    expect(top).toEqual(expect.arrayContaining(['encrypt', 'kv', 'team', 'completion']));
    expect(ag).toEqual(['age', 'agent']);
    expect(kv).toEqual(['del', 'get', 'list', 'put']);
    expect(put).toEqual(['--help', '--input', '--json', '--revision', '--team']);
    expect(file).toEqual(['reply.asc', 'report.pdf']);
    expect(afterFlag).toEqual(['--json']);
    expect(shells).toEqual(['bash', 'fish', 'zsh']);
    expect(user).toEqual([]); // a user name: nothing to offer
  });

  it('bash completes every group and every flag of every command in the table', () => {
    const groupLines = [...groups.keys()].map((g) => ['saltbox', g, '']);
    const flagLines = keys.map((k) => ['saltbox', ...k.split(' '), '-']);
    const got = bashComplete([...groupLines, ...flagLines]);
    expect(got.slice(0, groupLines.length)).toEqual(
      [...groups.values()].map((subs) => [...subs].sort()),
    );
    expect(got.slice(groupLines.length)).toEqual(keys.map(flagsOf));
  });

  it('fish: fish -n accepts the script, and complete -C completes every command and flag', () => {
    shell('fish', ['--no-execute', scripts.fish!]);
    const lines = [
      'saltbox ',
      ...[...groups.keys()].map((g) => `saltbox ${g} `),
      ...keys.map((k) => `saltbox ${k} -`),
      'saltbox encrypt -i re',
      'saltbox completion ',
      'saltbox signup al',
    ];
    const got = fishComplete(lines);
    let i = 0;
    expect(got[i++]).toEqual(topWords);
    for (const subs of groups.values()) expect(got[i++]).toEqual([...subs].sort());
    for (const k of keys) expect(got[i++], k).toEqual(flagsOf(k));
    expect(got[i++]).toEqual(['reply.asc', 'report.pdf']);
    expect(got[i++]).toEqual(['bash', 'fish', 'zsh']);
    expect(got[i++]).toEqual([]);
  });

  it('zsh: zsh -n accepts the script; compinit registers _saltbox, sourced or from $fpath', () => {
    shell('zsh', ['-n', scripts.zsh!]);
    const sourced = shell('zsh', [
      '-f',
      '-c',
      `autoload -Uz compinit && compinit -u -D && source ${sq(scripts.zsh!)} && print -r -- $_comps[saltbox]`,
    ]);
    expect(sourced).toBe('_saltbox\n');
    const fpath = join(dir, 'zfunc');
    mkdirSync(fpath, { recursive: true });
    writeFileSync(join(fpath, '_saltbox'), shell('cat', [scripts.zsh!]));
    const autoloaded = shell('zsh', [
      '-f',
      '-c',
      `fpath=(${sq(fpath)} $fpath); autoload -Uz compinit && compinit -u -D && print -r -- $_comps[saltbox]`,
    ]);
    expect(autoloaded).toBe('_saltbox\n');
  });

  it("zsh: _saltbox offers commands and subcommands and hands each command's flags to _arguments", () => {
    const script = [
      `autoload -Uz compinit && compinit -u -D && source ${sq(scripts.zsh!)}`,
      // Stand-ins for zsh's completion functions: print what they are given.
      '_describe() { shift 3; print -r -- "describe ${(j: :)${(@)${(@P)1}%%:*}}" }',
      '_arguments() { print -r -- "arguments ${(j:,:)words} $CURRENT"; print -rl -- "$@" }',
      'words=(saltbox ""); CURRENT=2; _saltbox',
      'words=(saltbox kv ""); CURRENT=3; _saltbox',
      'words=(saltbox kv put --t); CURRENT=4; _saltbox',
      'words=(saltbox completion ""); CURRENT=3; _saltbox',
    ].join('\n');
    const out = shell('zsh', ['-f', '-c', script]).split('\n');
    expect(out[0]).toBe(`describe ${topWords.join(' ')}`);
    expect(out[1]).toBe('describe get put del list');
    // The group and command words are dropped: _arguments sees `put --t`, cursor on word 2.
    expect(out[2]).toBe('arguments put,--t 2');
    expect(out).toEqual(
      expect.arrayContaining([
        '-S',
        '(-h --help)--help',
        '(--team)--team=:team:_files',
        '(-i --input)-i+:input:_files',
        '(-i --input)--input=:input:_files',
        '*:argument: ',
        'arguments completion, 2',
        '*:argument:(bash zsh fish)',
      ]),
    );
  });
});
