/**
 * What the CLI prints. stdout carries results only: a table or coloured text on
 * a terminal; one JSON document (`--json`) or NDJSON lines for lists and
 * streams when asked or when stdout is not a terminal. stderr carries errors,
 * notes, prompts and progress (the last two only when stderr is a terminal).
 * Writes wait for the pipe to drain, so a streamed export holds one page.
 */
import type { Writable } from 'node:stream';

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

export class Output {
  /** Machine output: JSON documents and NDJSON lines. */
  readonly machine: boolean;
  constructor(
    private readonly stream: Writable | undefined,
    private readonly io: Io,
    opts: { json: boolean; tty: boolean },
  ) {
    this.machine = opts.json || !opts.tty;
  }

  /** One line to stdout; resolves when the pipe can take more. */
  line(s: string): Promise<void> | void {
    if (!this.stream) return this.io.out(s);
    if (!this.stream.write(`${s}\n`)) return new Promise((r) => this.stream!.once('drain', () => r()));
  }

  /** Many lines in one write (a page of NDJSON); resolves when the pipe can take more. */
  lines(ls: string[]): Promise<void> | void {
    if (ls.length === 0) return;
    if (!this.stream) {
      for (const l of ls) this.io.out(l);
      return;
    }
    if (!this.stream.write(`${ls.join('\n')}\n`)) return new Promise((r) => this.stream!.once('drain', () => r()));
  }

  /** Text of whole lines (each ending in a newline) in one write; resolves when the pipe can take more. */
  text(s: string): Promise<void> | void {
    if (s.length === 0) return;
    if (!this.stream) {
      for (const l of s.slice(0, -1).split('\n')) this.io.out(l);
      return;
    }
    if (!this.stream.write(s)) return new Promise((r) => this.stream!.once('drain', () => r()));
  }

  /** One result: pretty JSON on a terminal, compact with --json / a pipe. */
  json(v: unknown): Promise<void> | void {
    return this.line(this.machine ? JSON.stringify(v) : JSON.stringify(v, null, 2));
  }

  note(s: string): void {
    this.io.err(s);
  }

  /** Rows: a table on a terminal, NDJSON otherwise. */
  async rows(rows: Record<string, unknown>[], columns: string[]): Promise<void> {
    if (this.machine) return this.lines(rows.map((r) => JSON.stringify(r)));
    if (rows.length === 0) return void this.io.err('(none)');
    const { default: Table } = await import('cli-table3');
    const t = new Table({ head: columns, style: { head: process.env.NO_COLOR ? [] : ['cyan'], border: [] } });
    for (const r of rows) t.push(columns.map((c) => cell(r[c])));
    await this.line(t.toString());
  }
}

function cell(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object') {
    const s = JSON.stringify(v);
    return s.length > 60 ? `${s.slice(0, 57)}...` : s;
  }
  return String(v);
}
