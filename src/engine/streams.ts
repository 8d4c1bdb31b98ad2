import { StringDecoder } from 'node:string_decoder';

export type StreamName = 'stdout' | 'stderr';

/** A piece of a process's output, on one of its two streams. */
export interface Frame {
  stream: StreamName;
  data: Buffer;
}

export interface Line {
  stream: StreamName;
  /** The line's text without its newline; invalid UTF-8 becomes U+FFFD. */
  text: string;
  /** True when the line was longer than the cap and cut. */
  truncated: boolean;
}

export const TRUNCATION_MARKER = ' …[line truncated]';

/**
 * Splits a byte stream into lines. Bytes are only decoded once a whole line is known, so a
 * multi-byte character split across chunks stays intact. Lines over `maxLineBytes` are cut and
 * marked; the rest of such a line is dropped until its newline arrives.
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  private overflowing = false;

  constructor(
    private readonly stream: StreamName,
    private readonly maxLineBytes = 64 * 1024,
  ) {}

  /** Lines completed by `chunk` (read from byte `from` on). */
  push(chunk: Buffer, from = 0): Line[] {
    const lines: Line[] = [];
    let start = from;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl === -1) break;
      if (this.size === 0 && !this.overflowing && nl - start <= this.maxLineBytes) {
        // The whole line is in this chunk, as most are: decode it in place, with no copy.
        lines.push(this.line(chunk.toString('utf8', start, nl), false));
      } else {
        this.append(chunk.subarray(start, nl));
        lines.push(this.take());
      }
      start = nl + 1;
    }
    if (start < chunk.length) this.append(chunk.subarray(start));
    return lines;
  }

  /** The line that `chunk` (holding no newline) finishes: for sources that mark line ends themselves. */
  endLine(chunk: Buffer): Line {
    if (this.size === 0 && !this.overflowing && chunk.length <= this.maxLineBytes) return this.line(chunk.toString('utf8'), false);
    this.append(chunk);
    return this.take();
  }

  /** The unterminated last line, if any, at end of stream. */
  flush(): Line[] {
    return this.size > 0 || this.overflowing ? [this.take()] : [];
  }

  /** Adds part of a line (holding no newline) to the one in progress, up to the cap. */
  append(bytes: Buffer): void {
    const room = this.maxLineBytes - this.size;
    if (bytes.length > room) {
      if (room > 0) this.parts.push(bytes.subarray(0, room));
      this.size = this.maxLineBytes;
      this.overflowing = true;
      return;
    }
    this.parts.push(bytes);
    this.size += bytes.length;
  }

  private take(): Line {
    const line = this.line(Buffer.concat(this.parts, this.size).toString('utf8'), this.overflowing);
    this.parts = [];
    this.size = 0;
    this.overflowing = false;
    return line;
  }

  private line(decoded: string, truncated: boolean): Line {
    let text = decoded.endsWith('\r') ? decoded.slice(0, -1) : decoded;
    // A cut may have split a character; drop the replacement char it leaves at the end.
    if (truncated) text = text.replace(/\uFFFD$/, '') + TRUNCATION_MARKER;
    return { stream: this.stream, text, truncated };
  }
}

export interface CapturedOutput {
  stdout: string;
  stderr: string;
  /** stdout and stderr in arrival order. */
  output: string;
  truncated: boolean;
}

/**
 * Collects a process's output up to a byte cap: stdout, stderr and both in arrival order.
 * Text is decoded incrementally per stream, so characters split across frames survive.
 */
export class OutputCollector {
  private readonly decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
  readonly text = { stdout: '', stderr: '' };
  combined = '';
  bytes = 0;
  truncated = false;

  constructor(private readonly maxBytes: number) {}

  push({ stream, data }: Frame): void {
    const room = this.maxBytes - this.bytes;
    if (room <= 0) {
      this.truncated = true;
      return;
    }
    const kept = data.length > room ? data.subarray(0, room) : data;
    if (kept !== data) this.truncated = true;
    this.bytes += kept.length;
    this.append(stream, this.decoders[stream].write(kept));
  }

  /** Decodes what is left and returns everything collected. */
  finish(): CapturedOutput {
    for (const stream of ['stdout', 'stderr'] as const) this.append(stream, this.decoders[stream].end());
    return { ...this.text, output: this.combined, truncated: this.truncated };
  }

  private append(stream: StreamName, text: string): void {
    if (!text) return;
    this.text[stream] += text;
    this.combined += text;
  }
}
