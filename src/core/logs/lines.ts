import type { StampedLine } from '../../engine/port.js';
import type { StreamName } from '../../engine/streams.js';
import type { CursorClock, LogPosition } from '../../streams/cursor.js';
import type { StreamGap } from '../../streams/gap.js';

/** Its cursor and time derive from `position`, when a client asks for them. */
export interface LogLine {
  kind: 'line';
  position: LogPosition;
  stream: StreamName;
  message: string;
  truncated: boolean;
}

export type LogEndReason = 'STOPPED' | 'REMOVED' | 'FAILED' | 'SHUTDOWN';

/** The last event of a log subscription: why it stopped. */
export interface LogEnd {
  kind: 'end';
  reason: LogEndReason;
  exitCode: number | null;
  message: string;
}

export type LogEvent = LogLine | StreamGap | LogEnd;

export const NANOS_PER_SECOND = 1_000_000_000n;

/** Gives a line its position: from its engine timestamp, in the order the lines were read. */
export function toLogLine(line: StampedLine, clock: CursorClock): LogLine {
  const position = line.nanos === undefined ? clock.nextStamped(line.timestamp) : clock.next(line.nanos);
  return { kind: 'line', position, stream: line.stream, message: line.text, truncated: line.truncated };
}
