/**
 * The `--env-file` format of `saltbox run`: dotenv syntax, parsed here with one fixed grammar.
 *
 * Written here rather than taken from `dotenv` or Node's `util.parseEnv`: the grammar is a
 * few dozen lines; Node's built-in parser is marked "Stability: 1.1 - Active development" and
 * does not specify its grammar (saltbox supports Node 20.19+, so the same file could come to
 * mean different things on different Nodes); and a secrets tool should not add a dependency
 * that sees every secret for it.
 *
 * ```
 * # a comment line; blank lines are skipped
 * export PLAIN=value with spaces   # trailing comment (needs a space before '#')
 * DB_PASSWORD=saltbox:///prod/db-password
 * SINGLE='literal $HOME \n, may span lines'
 * DOUBLE="escapes \n \r \t \\ \" ; may span lines"
 * EMPTY=
 * ```
 *
 * Names are `[A-Za-z_][A-Za-z0-9_]*`; `export ` in front is allowed; spaces around `=` are
 * allowed. An unquoted value ends at the end of the line or at ` #`, and is trimmed. A single-
 * quoted value is taken literally; a double-quoted one knows the escapes above (any other
 * backslash is kept as written). Nothing is expanded (`$VAR` stays `$VAR`). After a closing
 * quote only spaces and a comment may follow. A name given twice keeps its last value. Line
 * ends may be LF or CRLF; a UTF-8 byte-order mark is skipped.
 *
 * @packageDocumentation
 */
import { CliError } from './errors.js';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;
const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', '\\': '\\', '"': '"' };

/**
 * Parses an env file's text into its variables, in file order (a repeated name keeps the
 * position of its first line and the value of its last).
 *
 * @param file - the file's name, for error messages (never a value)
 * @throws CliError `CLI_ENV_FILE` naming the file and line of the first syntax error.
 */
export function parseEnvFile(text: string, file: string): Map<string, string> {
  const src = (text.startsWith('\uFEFF') ? text.slice(1) : text).replace(/\r\n/g, '\n');
  const vars = new Map<string, string>();
  let pos = 0;
  let line = 1;
  const error = (what: string, at = line): CliError =>
    new CliError('CLI_ENV_FILE', `${file} line ${at}: ${what}`);
  const skipSpaces = (): void => {
    while (src[pos] === ' ' || src[pos] === '\t') pos++;
  };
  /** Skips an optional comment, then requires the end of the line. */
  const endOfLine = (): void => {
    skipSpaces();
    if (src[pos] === '#') while (pos < src.length && src[pos] !== '\n') pos++;
    if (pos < src.length && src[pos] !== '\n') throw error('unexpected text after the value');
    pos++;
    line++;
  };

  while (pos < src.length) {
    skipSpaces();
    if (src[pos] === '\n' || src[pos] === '#' || pos >= src.length) {
      endOfLine();
      continue;
    }
    if (src.startsWith('export ', pos) || src.startsWith('export\t', pos)) {
      pos += 'export'.length;
      skipSpaces();
    }
    const name = NAME.exec(src.slice(pos, pos + 256))?.[0];
    if (name === undefined) throw error('expected NAME=VALUE (a name is letters, digits and _)');
    pos += name.length;
    skipSpaces();
    if (src[pos] !== '=') throw error(`expected '=' after ${name}`);
    pos++;
    skipSpaces();
    const start = line;
    const quote = src[pos];
    let value = '';
    if (quote === "'" || quote === '"') {
      pos++;
      for (;;) {
        if (pos >= src.length) throw error(`unterminated ${quote}-quoted value of ${name}`, start);
        const c = src[pos]!;
        if (c === quote) break;
        if (c === '\n') line++;
        if (quote === '"' && c === '\\' && pos + 1 < src.length) {
          const next = src[pos + 1]!;
          const escaped = ESCAPES[next];
          value += escaped ?? `\\${next}`;
          if (escaped === undefined && next === '\n') line++;
          pos += 2;
          continue;
        }
        value += c;
        pos++;
      }
      pos++;
    } else {
      const eol = src.indexOf('\n', pos);
      const end = eol === -1 ? src.length : eol;
      const raw = src.slice(pos, end);
      const comment = /[ \t]#/.exec(raw);
      value = (comment ? raw.slice(0, comment.index) : raw).trim();
      pos = end;
    }
    vars.set(name, value);
    endOfLine();
  }
  return vars;
}
