import { FollowLogsDocument, type FollowLogsSubscription } from 'podgraph/client';
import { useEffect, useLayoutEffect, useReducer, useRef, useState } from 'preact/hooks';
import { useSession } from '../session';
import { keepSubscribed } from '../live';
import { parseAnsi } from './ansi';
import { downloadWholeLog } from './download';

/** Lines a view keeps: older ones are dropped, so a tab stays small whatever the log's size. */
const MAX_LINES = 5000;
/** Lines shown when the view opens (and after a new filter). */
const FIRST_TAIL = 200;
/** Every line is one row of this height (styles.css), so the rows in view follow from the scroll offset. */
const ROW_PX = 18;
/** Rows rendered above and below those in view, so a quick scroll shows no blank. */
const OVERSCAN = 20;

type LogEvent = FollowLogsSubscription['containerLogBatches'][number];

interface Row {
  /** Counts the rows of this view from 0, as a stable key. */
  number: number;
  text: string;
  stderr?: boolean;
  /** A note of the view's own (a gap, the end), not a log line. */
  note?: boolean;
}

/** How one event reads in the view. */
function rowText(event: LogEvent): Omit<Row, 'number'> {
  switch (event.__typename) {
    case 'LogLine':
      return { text: event.message, stderr: event.stream === 'STDERR' };
    case 'StreamGap':
      return { text: `… ${event.missed} lines missed here (the engine no longer keeps them)`, note: true };
    case 'LogEnd':
      return { text: `— the log ends: ${event.reason.toLowerCase()}${event.exitCode != null ? `, exit code ${event.exitCode}` : ''} —`, note: true };
  }
}

/**
 * A container's log, live. Following keeps the newest line in view until the reader scrolls up;
 * pausing freezes the view (new lines wait, counted) wherever the reader is. Only the rows in
 * view are in the page. After a lost connection it resumes right after the last line it has.
 */
export function LogView({ container }: { container: string }) {
  const { api } = useSession();
  const rows = useRef<Row[]>([]);
  const waiting = useRef<Row[]>([]);
  const nextNumber = useRef(0);
  const lastCursor = useRef<string | undefined>(undefined);
  const scroller = useRef<HTMLDivElement>(null);
  const [filter, setFilter] = useState('');
  const [filterDraft, setFilterDraft] = useState('');
  const [paused, setPaused] = useState(false);
  const pausedRef = useRef(false);
  const [following, setFollowing] = useState(true);
  const followingRef = useRef(true);
  const [status, setStatus] = useState<string | undefined>();
  const [scrollTop, setScrollTop] = useState(0);
  const [viewHeight, setViewHeight] = useState(600);
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const frame = useRef<number | undefined>(undefined);
  /** Rows dropped from the top since the last paint, to keep what the reader sees in place. */
  const droppedSincePaint = useRef(0);

  const scheduleRender = () => {
    frame.current ??= requestAnimationFrame(() => {
      frame.current = undefined;
      rerender(0);
    });
  };

  const append = (added: Row[]) => {
    rows.current.push(...added);
    const over = rows.current.length - MAX_LINES;
    if (over > 0) {
      rows.current.splice(0, over);
      droppedSincePaint.current += over;
    }
  };

  useEffect(() => {
    rows.current = [];
    waiting.current = [];
    lastCursor.current = undefined;
    rerender(0);
    return keepSubscribed(
      api.client,
      FollowLogsDocument,
      () => ({ container, filter: filter || undefined, ...(lastCursor.current ? { after: lastCursor.current } : { tail: FIRST_TAIL }) }),
      {
        data: ({ containerLogBatches }) => {
          setStatus(undefined);
          const added = containerLogBatches.map((event) => {
            if (event.__typename === 'LogLine') lastCursor.current = event.cursor;
            return { number: nextNumber.current++, ...rowText(event) };
          });
          if (pausedRef.current) {
            waiting.current.push(...added);
            // Waiting lines are bounded too: only the newest can ever be shown.
            if (waiting.current.length > MAX_LINES) waiting.current.splice(0, waiting.current.length - MAX_LINES);
          } else {
            append(added);
          }
          scheduleRender();
        },
        failed: (message) => setStatus(message),
        reconnecting: () => setStatus('Connection lost: reconnecting…'),
        resumed: () => setStatus('Reconnected: resuming after the last line shown'),
      },
    );
  }, [api, container, filter]);

  // After each paint: keep the newest line in view while following, else keep the same lines
  // in view when older ones were dropped above them.
  useLayoutEffect(() => {
    const element = scroller.current;
    if (!element) return;
    if (followingRef.current && !pausedRef.current) element.scrollTop = element.scrollHeight;
    else if (droppedSincePaint.current > 0) element.scrollTop -= droppedSincePaint.current * ROW_PX;
    droppedSincePaint.current = 0;
    setScrollTop(element.scrollTop);
    setViewHeight(element.clientHeight);
  });

  const onScroll = () => {
    const element = scroller.current!;
    setScrollTop(element.scrollTop);
    // The reader leads: scrolling up stops following, scrolling back to the end resumes it.
    const atEnd = element.scrollTop + element.clientHeight >= element.scrollHeight - ROW_PX;
    if (atEnd !== followingRef.current && !pausedRef.current) {
      followingRef.current = atEnd;
      setFollowing(atEnd);
    }
  };

  const togglePause = () => {
    const pause = !pausedRef.current;
    pausedRef.current = pause;
    setPaused(pause);
    if (!pause) {
      append(waiting.current);
      waiting.current = [];
      followingRef.current = true;
      setFollowing(true);
      scheduleRender();
    }
  };

  const follow = () => {
    followingRef.current = true;
    setFollowing(true);
    scheduleRender();
  };

  const all = rows.current;
  const first = Math.max(0, Math.floor(scrollTop / ROW_PX) - OVERSCAN);
  const last = Math.min(all.length, Math.ceil((scrollTop + viewHeight) / ROW_PX) + OVERSCAN);

  return (
    <section class="logs">
      <div class="toolbar">
        <form
          onSubmit={(event) => {
            event.preventDefault();
            setFilter(filterDraft);
          }}
        >
          <input
            aria-label="Filter (regular expression)"
            placeholder="filter: regular expression, applied by the server"
            value={filterDraft}
            onInput={(event) => setFilterDraft(event.currentTarget.value)}
          />
          <button type="submit">Filter</button>
        </form>
        <button onClick={togglePause} aria-pressed={paused}>
          {paused ? 'Resume' : 'Pause'}
        </button>
        <button onClick={follow} disabled={following || paused}>
          Follow
        </button>
        <button onClick={() => void downloadWholeLog(api.client, container).catch((error: Error) => setStatus(error.message))}>Download</button>
        <span class="log-state" data-testid="log-state">
          {paused ? `Paused: ${waiting.current.length} new lines` : following ? 'Following' : 'Scrolled back'}
        </span>
      </div>
      {status && <p class="status">{status}</p>}
      <div class="log-scroll" ref={scroller} onScroll={onScroll} data-testid="log-view">
        <div class="log-rows" style={{ height: `${all.length * ROW_PX}px` }}>
          {all.slice(first, last).map((row, i) => (
            <div key={row.number} class={`log-row${row.stderr ? ' stderr' : ''}${row.note ? ' note' : ''}`} style={{ top: `${(first + i) * ROW_PX}px` }}>
              {parseAnsi(row.text).map((part) => (
                <span class={part.classes} style={part.color || part.background ? { color: part.color, background: part.background } : undefined}>
                  {part.text}
                </span>
              ))}
            </div>
          ))}
        </div>
      </div>
    </section>
  );
}
