/**
 * Log cursors: a line's position as (engine timestamp in nanoseconds, index among lines with
 * that same timestamp). Both the history read and the live stream derive it from the engine's
 * own timestamps, so the same line gets the same cursor on either path and after a reconnect.
 * Clients treat the encoded string as opaque.
 */
export interface LogPosition {
  nanos: bigint;
  index: number;
}

const ISO_NANOS = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;
const CURSOR = /^(\d{1,24})\.(\d{1,9})$/;
/** Where an RFC 3339 timestamp's whole seconds end, and a fraction would start. */
const SECONDS_END = 'YYYY-MM-DDTHH:MM:SS'.length;
const DOT = 0x2e;
const ZERO = 0x30;

/** An RFC 3339 timestamp with up to nanosecond precision, as nanoseconds since the epoch. */
export function timestampNanos(text: string): bigint | null {
  const match = ISO_NANOS.exec(text);
  if (!match) return null;
  const millis = Date.parse(`${match[1]}${match[3]}`);
  if (Number.isNaN(millis)) return null;
  return BigInt(millis) * 1_000_000n + BigInt((match[2] ?? '').padEnd(9, '0'));
}

export function encodeCursor(position: LogPosition): string {
  return `${position.nanos}.${position.index}`;
}

export function decodeCursor(cursor: string): LogPosition | null {
  const match = CURSOR.exec(cursor);
  return match ? { nanos: BigInt(match[1]!), index: Number(match[2]) } : null;
}

/** The time of a position, to the millisecond. */
export function positionTime(position: LogPosition): Date {
  return new Date(Number(position.nanos / 1_000_000n));
}

export function comparePositions(a: LogPosition, b: LogPosition): number {
  if (a.nanos !== b.nanos) return a.nanos < b.nanos ? -1 : 1;
  return a.index - b.index;
}

/**
 * Parses the stamps of lines read in order. Lines in a burst share one (all of a second's, on
 * Podman's API), and Docker's differ only in their fraction: each stamp and each second is
 * parsed once, the fraction by hand.
 */
export class StampParser {
  private lastStamp: string | null = null;
  private lastStampNanos: bigint | null = null;
  private lastSecond: string | null = null;
  private lastSecondNanos: bigint | null = null;

  /** timestampNanos, cheaply for a stamp like the one before. */
  parse(stamp: string): bigint | null {
    if (stamp !== this.lastStamp) {
      this.lastStamp = stamp;
      this.lastStampNanos = this.parseNew(stamp);
    }
    return this.lastStampNanos;
  }

  private parseNew(stamp: string): bigint | null {
    // RFC 3339: the fraction, if any, starts after the 19 characters of date and time.
    if (stamp.charCodeAt(SECONDS_END) !== DOT) return timestampNanos(stamp);
    let end = SECONDS_END + 1;
    let fraction = 0;
    for (let digit = stamp.charCodeAt(end) - ZERO; digit >= 0 && digit <= 9 && end <= SECONDS_END + 9; digit = stamp.charCodeAt(end) - ZERO) {
      fraction = fraction * 10 + digit;
      end++;
    }
    const second = stamp.slice(0, SECONDS_END) + stamp.slice(end);
    if (second !== this.lastSecond) {
      this.lastSecond = second;
      this.lastSecondNanos = timestampNanos(second);
    }
    const digits = end - SECONDS_END - 1;
    if (this.lastSecondNanos === null || digits === 0) return null;
    return this.lastSecondNanos + BigInt(fraction * 10 ** (9 - digits));
  }
}

/**
 * Hands out strictly increasing positions for lines read in engine order. A line stamped no
 * later than the one before it (same nanosecond, or a rare reordering between stdout and
 * stderr) takes the previous timestamp with the next index, so cursors never go backwards.
 */
export class CursorClock {
  private last: LogPosition | undefined;
  private readonly stamps = new StampParser();

  /** The position of the next line read, from its engine timestamp. */
  nextStamped(stamp: string | null): LogPosition {
    // A line without a timestamp (never seen in practice) sorts right after the one before it.
    return this.next((stamp ? this.stamps.parse(stamp) : null) ?? 0n);
  }

  next(nanos: bigint): LogPosition {
    const last = this.last;
    this.last = last && nanos <= last.nanos ? { nanos: last.nanos, index: last.index + 1 } : { nanos, index: 0 };
    return this.last;
  }
}
