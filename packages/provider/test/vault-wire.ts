/**
 * The Vault wire as Pulumi's and SOPS's Go HTTP clients speak it, for the bridge tests here
 * and the CLI's end-to-end test: raw HTTP/1.1 over a real TCP or Unix socket, and the
 * recorded transcripts (test/transcripts) with their placeholders filled in.
 */
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import type { Socket } from 'node:net';

/** An HTTP/1.1 answer: status, the head lower-cased, the body parsed as JSON (null if empty). */
export interface VaultAnswer {
  status: number;
  headers: string;
  json: unknown;
}

/**
 * Sends raw request bytes to a bridge address (`http://host:port`, or `unix:///path` as Go's
 * Vault client dials it) and parses the answer.
 */
export async function rawVault(address: string, text: string): Promise<VaultAnswer> {
  const dial = (onConnect: () => void): Socket => {
    if (address.startsWith('unix://')) return connect(address.slice('unix://'.length), onConnect);
    const url = new URL(address);
    return connect(Number(url.port), url.hostname, onConnect);
  };
  // Like Go's client: write the request and keep the connection open (no half-close) until
  // the whole answer (headers + Content-Length bytes) has arrived.
  const answer = await new Promise<string>((resolve, reject) => {
    const s = dial(() => s.write(text));
    let buf = Buffer.alloc(0);
    const done = () => {
      s.destroy();
      resolve(buf.toString('utf8'));
    };
    s.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const len = Number(/content-length: (\d+)/i.exec(buf.subarray(0, end).toString())?.[1] ?? 0);
      if (buf.length >= end + 4 + len) done();
    });
    s.on('end', done);
    s.on('error', reject);
  });
  const [head, body = ''] = answer.split('\r\n\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head!)?.[1]);
  return { status, headers: head!.toLowerCase(), json: body === '' ? null : JSON.parse(body) };
}

/** Builds one transcript request: placeholders filled, Content-Length computed, LF → CRLF. */
export function fillTranscript(template: string, values: Record<string, string>): string {
  const [head, body = ''] = template.replace(/^\n+|\n+$/g, '').split('\n\n');
  let b = body;
  for (const [k, v] of Object.entries(values)) b = b.replaceAll(`{{${k}}}`, v);
  let h = head!.replaceAll('{{length}}', String(Buffer.byteLength(b)));
  for (const [k, v] of Object.entries(values)) h = h.replaceAll(`{{${k}}}`, v);
  return `${h.split('\n').join('\r\n')}\r\n\r\n${b}`;
}

/** The requests of one recorded transcript (`pulumi-hashivault.txt`, `sops-hc-vault-transit.txt`). */
export async function readTranscript(name: string): Promise<string[]> {
  const text = await readFile(new URL(`./transcripts/${name}`, import.meta.url), 'utf8');
  return text.split('=====\n');
}
