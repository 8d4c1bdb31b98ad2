import { z } from 'zod';
import type { ContainerModel } from '../../engine/container-model.js';
import type { StatsSample } from '../../engine/port.js';
import { fromEngineError } from '../../errors.js';
import type { LabStore } from '../../store/labs.js';
import type { StreamGap } from '../../streams/gap.js';
import { createSubscriber, type QueueLimits } from '../../streams/subscriber.js';
import type { Recorder } from '../activity.js';
import type { Caller } from '../caller.js';
import type { ContainerService } from '../containers.js';
import { toLiveTarget } from '../live-target.js';
import type { StatsService } from '../stats.js';
import type { TerminalService } from '../terminals.js';
import { parseInput } from '../validation.js';
import type { StudentState } from './model.js';
import { LAB_LABEL, containerNameOf } from './template.js';

/** One student as a tick of labStatus shows them. */
export interface StudentStatus {
  id: string;
  displayName: string;
  state: StudentState;
  container: ContainerModel | null;
  cpuPercent: number | null;
  memoryUsedBytes: number | null;
  memoryLimitBytes: number | null;
  lastActivity: Date | null;
  /** What their terminal shows now: the one that printed last; null without one. */
  screen: string | null;
}

export interface LabStatus {
  lab: string;
  /** When the tick began gathering: its age on arrival is how late the picture is. */
  at: Date;
  students: StudentStatus[];
}

export const statusInput = z.object({ intervalMs: z.number().int().min(1000).max(60_000).default(2000) });

/** A tick is a whole class's picture: a subscriber that falls behind needs only the newest. */
const STATUS_QUEUE: QueueLimits<LabStatus | StreamGap> = { maxItems: 2, gap: (missed) => ({ kind: 'gap', missed, resumeCursor: null }) };

/** Where a tick's picture comes from. */
export interface StatusSources {
  store: LabStore;
  containers: ContainerService;
  stats: StatsService;
  terminals: TerminalService;
  recorder: Recorder;
}

/**
 * When anything last happened in a container: the newest of what was recorded there and of its
 * terminals' typing and output, which no record marks.
 */
export async function lastActivityIn(sources: Pick<StatusSources, 'recorder' | 'terminals'>, caller: Caller, container: { id: string; name: string }): Promise<Date | null> {
  const recorded = await sources.recorder.lastActivity(caller, container);
  const typed = sources.terminals.lastActivityOf(container.id);
  return recorded && (!typed || recorded > typed) ? recorded : typed;
}

/**
 * The whole class every `intervalMs`, in one message: each student's state, container, CPU,
 * memory, last activity (terminal typing and output count, though no record is kept of each)
 * and terminal screen. One shared stats stream per running container, through the stats hub.
 */
export function followLabStatus(sources: StatusSources, caller: Caller, lab: string, input: z.input<typeof statusInput>): AsyncIterable<LabStatus | StreamGap> {
  const { intervalMs } = parseInput(statusInput, input);
  return createSubscriber(STATUS_QUEUE, (sink) => {
    const stats = new ContainerSamples(sources.stats);
    const tick = async () => {
      const at = new Date();
      const [students, containers] = await Promise.all([sources.store.students(lab), sources.containers.list({ labels: [`${LAB_LABEL}=${lab}`] })]);
      stats.followOnly(containers.filter((c) => c.state === 'RUNNING'));
      const byName = new Map(containers.map((c) => [c.name, c]));
      const status = await Promise.all(
        students.map(async (student): Promise<StudentStatus> => {
          const container = byName.get(containerNameOf(student)) ?? null;
          const sample = container ? stats.latest(container.id) : undefined;
          return {
            id: student.id,
            displayName: student.displayName,
            state: student.state as StudentState,
            container,
            cpuPercent: sample?.cpuPercent ?? null,
            memoryUsedBytes: sample?.memoryUsedBytes ?? null,
            memoryLimitBytes: sample?.memoryLimitBytes ?? null,
            lastActivity: container ? await lastActivityIn(sources, caller, container).catch(() => null) : null,
            screen: container ? await sources.terminals.screenOf(container.id) : null,
          };
        }),
      );
      sink.push({ lab, at, students: status });
    };
    let timer: NodeJS.Timeout | undefined;
    const loop = () => {
      const started = Date.now();
      tick().then(
        () => {
          if (!sink.closed) timer = setTimeout(loop, Math.max(0, intervalMs - (Date.now() - started)));
        },
        (error: unknown) => sink.end(fromEngineError(error)),
      );
    };
    loop();
    return () => {
      clearTimeout(timer);
      stats.followOnly([]);
    };
  });
}

/** The latest stats sample of each container followed, from the stats hub's shared streams. */
class ContainerSamples {
  private readonly samples = new Map<string, StatsSample>();
  /** How to stop each container's stats feed, by container ID. */
  private readonly feeds = new Map<string, AbortController>();

  constructor(private readonly stats: StatsService) {}

  latest(containerId: string): StatsSample | undefined {
    return this.samples.get(containerId);
  }

  /** Follows these containers, and stops following any other. */
  followOnly(containers: ContainerModel[]): void {
    for (const container of containers) this.follow(container);
    for (const id of [...this.feeds.keys()]) if (!containers.some((c) => c.id === id)) this.unfollow(id);
  }

  private follow(container: ContainerModel): void {
    if (this.feeds.has(container.id)) return;
    const stop = new AbortController();
    this.feeds.set(container.id, stop);
    void (async () => {
      const feed = (await this.stats.followStats(toLiveTarget(container), { intervalMs: 1000 }))[Symbol.asyncIterator]();
      if (stop.signal.aborted) return void (await feed.return?.());
      stop.signal.addEventListener('abort', () => void feed.return?.(), { once: true });
      for (let next = await feed.next(); !next.done; next = await feed.next()) {
        if (next.value.kind === 'stats') this.samples.set(container.id, next.value);
      }
    })()
      .catch(() => undefined)
      .finally(() => this.feeds.get(container.id) === stop && this.feeds.delete(container.id));
  }

  private unfollow(id: string): void {
    this.feeds.get(id)?.abort();
    this.feeds.delete(id);
    this.samples.delete(id);
  }
}
