import type { Client } from '@urql/core';
import {
  ContainerActivityDocument,
  ContainerActivityFeedDocument,
  ContainerExecutionsDocument,
  ExecutionOutputDocument,
  type ActivitySummaryFragment,
  type ExecutionOutputQuery,
  type ExecutionSummaryFragment,
} from 'podgraph/client';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, run } from '../api';
import { commandLine, elapsed, timestamp } from '../format';
import { keepSubscribed } from '../live';
import { ActivityTable } from './activity-table';
import { Recordings } from './recordings';
import { useSession } from '../session';

/** Executions read per page ("Load more" reads the next). */
const EXECUTIONS_PAGE = 20;
/** Activity read when the tab opens; live items are added above. */
const ACTIVITY_PAGE = 50;
/** Activity kept in the tab at most, the newest. */
const MAX_ACTIVITY = 500;
/** How long an execution the feed announced is looked for: the server records it just after announcing it. */
const RECORD_WAIT_MS = 10_000;

const OUTCOMES = { all: undefined, succeeded: true, failed: false } as const;
type Outcome = keyof typeof OUTCOMES;

/** `current` and `incoming` together, one of each id, newest first by `time`; at most `max`. */
function newestFirst<T extends { id: string }>(current: T[], incoming: T[], time: (item: T) => string, max = Infinity): T[] {
  const byId = new Map(current.map((item) => [item.id, item]));
  for (const item of incoming) byId.set(item.id, item);
  return [...byId.values()].sort((a, b) => time(b).localeCompare(time(a)) || b.id.localeCompare(a.id)).slice(0, max);
}

/** An execution's record, once it is in the history (a moment after the feed announced its end). */
async function recordedExecution(client: Client, id: string): Promise<ExecutionOutputQuery['execution']> {
  const deadline = Date.now() + RECORD_WAIT_MS;
  for (let waitMs = 100; ; waitMs *= 2) {
    try {
      return (await run(client, ExecutionOutputDocument, { id })).execution;
    } catch (error) {
      if (!(error instanceof ApiError && error.code === 'NOT_FOUND') || Date.now() > deadline) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, waitMs));
  }
}

/** What an EXEC_END activity says of its execution (its detail, as the server records it). */
function endedExecution(activity: ActivitySummaryFragment): { id: string; success: boolean } | undefined {
  const detail = JSON.parse(activity.detail) as { executionId?: string; exitCode?: number | null; timedOut?: boolean; cancelled?: boolean };
  if (!detail.executionId) return undefined;
  return { id: detail.executionId, success: detail.exitCode === 0 && !detail.timedOut && !detail.cancelled };
}

interface Executions {
  items: ExecutionSummaryFragment[];
  hasNextPage: boolean;
  loading: boolean;
  problem?: string;
  loadMore(): void;
  /** The feed says an execution ended: it goes on top, if the filter lets it. */
  ended(activity: ActivitySummaryFragment): void;
  /** Events may have been missed: the newest page is read again. */
  catchUp(): void;
}

/** A container's executions, newest first, a page at a time; those that end while the tab is open are added on top. */
function useExecutions(client: Client, container: string, outcome: Outcome): Executions {
  const [items, setItems] = useState<ExecutionSummaryFragment[]>([]);
  const [page, setPage] = useState<{ endCursor?: string | null; hasNextPage: boolean }>({ hasNextPage: false });
  const [loading, setLoading] = useState(false);
  const [problem, setProblem] = useState<string | undefined>();
  /** Counts the lists asked for: an answer for an earlier container or filter is dropped. */
  const generation = useRef(0);
  const byStart = (e: ExecutionSummaryFragment) => e.startedAt;

  /** Reads the page after `after` (none: the newest) and merges it in; `paging`: the page info is its. */
  const read = (after: string | null | undefined, paging: boolean) => {
    const asked = generation.current;
    setLoading(true);
    run(client, ContainerExecutionsDocument, { container, success: OUTCOMES[outcome], first: EXECUTIONS_PAGE, after }).then(
      ({ executions }) => {
        if (asked !== generation.current) return;
        setProblem(undefined);
        setItems((current) => newestFirst(current, executions.edges.map((edge) => edge.node), byStart));
        if (paging) setPage(executions.pageInfo);
        setLoading(false);
      },
      (error: Error) => {
        if (asked !== generation.current) return;
        setProblem(error.message);
        setLoading(false);
      },
    );
  };

  useEffect(() => {
    generation.current++;
    setItems([]);
    setPage({ hasNextPage: false });
    read(undefined, true);
  }, [client, container, outcome]);

  return {
    items,
    hasNextPage: page.hasNextPage,
    loading,
    problem,
    loadMore: () => read(page.endCursor, true),
    ended: (activity) => {
      const ended = endedExecution(activity);
      const wanted = OUTCOMES[outcome];
      if (!ended || (wanted !== undefined && wanted !== ended.success)) return;
      const asked = generation.current;
      recordedExecution(client, ended.id).then(
        (execution) => asked === generation.current && setItems((current) => newestFirst(current, [execution], byStart)),
        (error: Error) => asked === generation.current && setProblem(error.message),
      );
    },
    catchUp: () => read(undefined, false),
  };
}

interface LiveActivity {
  items: ActivitySummaryFragment[];
  problem?: string;
  reconnecting: boolean;
}

/**
 * A container's activity, newest first: the latest page, then each item as the feed brings it.
 * After a gap or a lost connection the latest page is read again (and `missed` is called), as
 * items may have gone unheard.
 */
function useActivity(client: Client, container: string, handlers: { execEnded(activity: ActivitySummaryFragment): void; missed(): void }): LiveActivity {
  const [items, setItems] = useState<ActivitySummaryFragment[]>([]);
  const [problem, setProblem] = useState<string | undefined>();
  const [reconnecting, setReconnecting] = useState(false);
  // The handlers change with the executions' filter; the subscription stays.
  const current = useRef(handlers);
  current.current = handlers;

  useEffect(() => {
    let ended = false;
    setItems([]);
    const add = (incoming: ActivitySummaryFragment[]) => setItems((shown) => newestFirst(shown, incoming, (a) => a.at, MAX_ACTIVITY));
    const readNewest = () =>
      run(client, ContainerActivityDocument, { container, first: ACTIVITY_PAGE }).then(
        ({ activity }) => !ended && add(activity.edges.map((edge) => edge.node)),
        (error: Error) => !ended && setProblem(error.message),
      );
    // The feed first, then the page, so nothing that happens in between goes unheard.
    const stop = keepSubscribed(client, ContainerActivityFeedDocument, () => ({ container }), {
      data: ({ activityFeed: message }) => {
        if (message.__typename === 'StreamGap') {
          current.current.missed();
          return void readNewest();
        }
        add([message]);
        if (message.kind === 'EXEC_END') current.current.execEnded(message);
      },
      failed: setProblem,
      reconnecting: () => setReconnecting(true),
      resumed: () => {
        setReconnecting(false);
        current.current.missed();
        void readNewest();
      },
    });
    void readNewest();
    return () => {
      ended = true;
      stop();
    };
  }, [client, container]);

  return { items, problem, reconnecting };
}

/** A container's history: its executions (filtered by outcome, each opened to its output), its terminal recordings (replayed in the page) and its activity. */
export function History({ container }: { container: string }) {
  const { api } = useSession();
  const [outcome, setOutcome] = useState<Outcome>('all');
  const executions = useExecutions(api.client, container, outcome);
  const activity = useActivity(api.client, container, { execEnded: executions.ended, missed: executions.catchUp });

  return (
    <section class="history">
      <div class="toolbar">
        <h2>Executions</h2>
        <select aria-label="Outcome" value={outcome} onChange={(event) => setOutcome(event.currentTarget.value as Outcome)}>
          <option value="all">all</option>
          <option value="succeeded">succeeded</option>
          <option value="failed">failed</option>
        </select>
      </div>
      {executions.problem && <p class="error">{executions.problem}</p>}
      <ul class="executions" data-testid="executions">
        {executions.items.map((execution) => (
          <ExecutionItem key={execution.id} execution={execution} />
        ))}
      </ul>
      {executions.items.length === 0 && !executions.loading && (
        <p class="status">No {outcome === 'all' ? '' : `${outcome} `}executions recorded in this container.</p>
      )}
      {executions.hasNextPage && (
        <button onClick={executions.loadMore} disabled={executions.loading}>
          Load more
        </button>
      )}

      <Recordings container={container} />

      <h2>Activity</h2>
      {activity.problem && <p class="error">{activity.problem}</p>}
      {activity.reconnecting && <p class="status">Connection lost: reconnecting…</p>}
      <ActivityTable items={activity.items} />
      {activity.items.length === 0 && <p class="status">No activity recorded for this container.</p>}
    </section>
  );
}

/** How a run ended, in a word or its exit code. */
const ending = (e: ExecutionSummaryFragment) => (e.timedOut ? 'timed out' : e.cancelled ? 'cancelled' : e.exitCode === null ? 'killed' : `exit ${e.exitCode}`);

function ExecutionItem({ execution }: { execution: ExecutionSummaryFragment }) {
  const [open, setOpen] = useState(false);
  return (
    <li data-execution={execution.id}>
      <details onToggle={(event) => setOpen(event.currentTarget.open)}>
        <summary>
          <span class={execution.success ? 'ok' : 'failed'}>{ending(execution)}</span> <span class="when">{timestamp(execution.startedAt)}</span>{' '}
          <code>{commandLine(execution.command)}</code>
        </summary>
        {open && <ExecutionDetails execution={execution} />}
      </details>
    </li>
  );
}

/** An opened execution: who ran it, how, and its output (read when opened: it can be large). */
function ExecutionDetails({ execution }: { execution: ExecutionSummaryFragment }) {
  const { api } = useSession();
  const [output, setOutput] = useState<{ stdout: string; stderr: string } | undefined>();
  const [problem, setProblem] = useState<string | undefined>();
  useEffect(() => {
    run(api.client, ExecutionOutputDocument, { id: execution.id }).then(
      (data) => setOutput(data.execution),
      (error: Error) => setProblem(error.message),
    );
  }, [api, execution.id]);

  return (
    <div class="execution">
      <dl>
        <dt>command</dt>
        <dd>
          <code>{commandLine(execution.command)}</code>
        </dd>
        <dt>user</dt>
        <dd>{execution.user ?? 'the container’s'}</dd>
        <dt>run by</dt>
        <dd>{execution.caller}</dd>
        <dt>ended</dt>
        <dd>
          {ending(execution)} after {elapsed(execution.durationMs)}
          {execution.truncated && ' (output cut at the server’s MAX_OUTPUT_BYTES)'}
        </dd>
      </dl>
      {problem && <p class="error">{problem}</p>}
      {output && (
        <>
          <h3>stdout</h3>
          <pre data-testid="stdout">{output.stdout || '(none)'}</pre>
          <h3>stderr</h3>
          <pre data-testid="stderr">{output.stderr || '(none)'}</pre>
        </>
      )}
    </div>
  );
}
