import {
  LabActivityFeedDocument,
  LabsDocument,
  LabStatusDocument,
  ResetStudentDocument,
  RunCheckDocument,
  type ActivitySummaryFragment,
  type LabsQuery,
  type LabStatusSubscription,
  type RunCheckSubscription,
} from 'podgraph/client';
import { useEffect, useState } from 'preact/hooks';
import { run } from '../api';
import { bytes, duration } from '../format';
import { ActivityTable } from '../history/activity-table';
import { keepSubscribed } from '../live';
import { containerHref, labHref, labsHref } from '../routes';
import { useSession } from '../session';
import { useNow } from '../now';

/** A tile whose student has done nothing for this long stands out. */
const IDLE_MS = 20 * 60 * 1000;
/** The lab's activity kept on its page, the newest. */
const MAX_ACTIVITY = 100;

type Status = Extract<LabStatusSubscription['labStatus'], { __typename: 'LabStatus' }>;
type StudentStatus = Status['students'][number];
type CheckResult = Extract<RunCheckSubscription['runCheck'], { __typename: 'CheckResult' }>;

/** Every lab: its state, its students, when it ends. */
export function LabsPage() {
  const { api } = useSession();
  const [labs, setLabs] = useState<LabsQuery['labs'] | undefined>();
  const [problem, setProblem] = useState<string | undefined>();
  const now = useNow();

  useEffect(() => {
    run(api.client, LabsDocument, {}).then(
      (data) => setLabs(data.labs),
      (error: Error) => setProblem(error.message),
    );
  }, [api]);

  return (
    <section class="labs">
      <h1>Labs</h1>
      {problem && <p class="error">{problem}</p>}
      {labs?.length === 0 && <p class="status">No labs. createLab makes one (README: Running a class).</p>}
      {labs && labs.length > 0 && (
        <table>
          <thead>
            <tr>
              <th>lab</th>
              <th>state</th>
              <th>students</th>
              <th>ends in</th>
            </tr>
          </thead>
          <tbody>
            {labs.map((lab) => (
              <tr data-lab={lab.name}>
                <td>
                  <a href={labHref(lab.name)}>{lab.name}</a>
                </td>
                <td>{lab.state.toLowerCase()}</td>
                <td>
                  {lab.students.filter((s) => s.state === 'READY').length} ready of {lab.students.length}
                </td>
                <td>{duration(Date.parse(lab.expiresAt) - now)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/**
 * A lab's grid, for the projector: a tile a student with their state, CPU, memory, last
 * activity and what their terminal shows (as text, kept by the server), all from one labStatus
 * subscription; a check across the class, shown on the tiles.
 */
export function LabPage({ name }: { name: string }) {
  const { api, canAct } = useSession();
  const [status, setStatus] = useState<Status | undefined>();
  const [problem, setProblem] = useState<string | undefined>();
  const [command, setCommand] = useState('');
  const [checks, setChecks] = useState<Map<string, CheckResult>>(new Map());
  const [checking, setChecking] = useState(false);
  const now = useNow();

  useEffect(
    () =>
      keepSubscribed(api.client, LabStatusDocument, () => ({ lab: name }), {
        data: ({ labStatus }) => labStatus.__typename === 'LabStatus' && setStatus(labStatus),
        failed: setProblem,
      }),
    [api, name],
  );

  const activity = useLabActivity(name);

  const runCheck = () => {
    setChecks(new Map());
    setChecking(true);
    api.stream(RunCheckDocument, { lab: name, command }, {
      next: ({ runCheck: check }) => check.__typename === 'CheckResult' && setChecks((previous) => new Map(previous).set(check.student, check)),
      failed: (message) => {
        setProblem(message);
        setChecking(false);
      },
      complete: () => setChecking(false),
    });
  };

  return (
    <section class="lab-page">
      <nav>
        <a href={labsHref}>Labs</a> / <strong>{name}</strong>
      </nav>
      {problem && <p class="error">{problem}</p>}
      {canAct && (
        <form
          class="toolbar"
          onSubmit={(event) => {
            event.preventDefault();
            if (command.trim()) runCheck();
          }}
        >
          <input aria-label="Check command" placeholder="check, e.g. test -r /root/flag && echo solved" value={command} onInput={(event) => setCommand(event.currentTarget.value)} />
          <button type="submit" disabled={checking}>
            Run check
          </button>
        </form>
      )}
      <div class="lab-grid">
        {status?.students.map((student) => <StudentTile key={student.id} lab={name} student={student} check={checks.get(student.id)} now={now} canAct={canAct} onProblem={setProblem} />)}
      </div>
      {!status && !problem && <p class="status">Connecting…</p>}
      <h2>Activity since this page opened</h2>
      {activity.problem && <p class="error">{activity.problem}</p>}
      <ActivityTable items={activity.items} withContainer />
    </section>
  );
}

/** What the lab's students and staff do in its containers, live, newest first. */
function useLabActivity(lab: string): { items: ActivitySummaryFragment[]; problem?: string } {
  const { api } = useSession();
  const [items, setItems] = useState<ActivitySummaryFragment[]>([]);
  const [problem, setProblem] = useState<string | undefined>();
  useEffect(() => {
    setItems([]);
    // Containers carry their lab as this label (README: Running a class).
    return keepSubscribed(api.client, LabActivityFeedDocument, () => ({ labLabel: `podgraph.lab=${lab}` }), {
      data: ({ activityFeed: item }) => item.__typename === 'Activity' && setItems((shown) => [item, ...shown].slice(0, MAX_ACTIVITY)),
      failed: setProblem,
    });
  }, [api, lab]);
  return { items, problem };
}

function StudentTile({ lab, student, check, now, canAct, onProblem }: { lab: string; student: StudentStatus; check?: CheckResult; now: number; canAct: boolean; onProblem(message: string): void }) {
  const { api } = useSession();
  const idleMs = student.lastActivity ? now - Date.parse(student.lastActivity) : undefined;
  const idle = idleMs === undefined || idleMs > IDLE_MS;
  const containerState = student.container?.state.toLowerCase() ?? 'none';
  return (
    <article class={`tile${idle ? ' idle' : ''}`} data-student={student.id}>
      <header>
        <strong>{student.displayName}</strong> <span class="muted">{student.id}</span>
      </header>
      <div>
        <span class={`state state-${student.state === 'READY' ? containerState : student.state.toLowerCase()}`}>{student.state === 'READY' ? containerState : student.state.toLowerCase()}</span>
      </div>
      <div class="figures">
        {student.cpuPercent != null && <span>CPU {student.cpuPercent.toFixed(1)} %</span>}
        {student.memoryUsedBytes != null && <span>{bytes(student.memoryUsedBytes)}</span>}
      </div>
      <div class="muted">{idleMs === undefined ? 'no activity yet' : `active ${duration(idleMs)} ago`}</div>
      {student.screen !== null && (
        <pre class="screen" data-testid="screen">
          {student.screen}
        </pre>
      )}
      {check && (
        <pre class={`check ${check.execution?.exitCode === 0 ? 'ok' : 'failed'}`} data-testid="check">
          {check.execution ? check.execution.output.trim() || `exit ${check.execution.exitCode}` : check.errorMessage}
        </pre>
      )}
      <footer>
        {student.container && <a href={containerHref(student.container.name)}>Watch</a>}
        {canAct && (
          <button class="link" onClick={() => run(api.client, ResetStudentDocument, { lab, student: student.id }, 'mutation').catch((error: Error) => onProblem(error.message))}>
            Reset
          </button>
        )}
      </footer>
    </article>
  );
}
