import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { isContainerIdRef, type ContainerModel } from '../engine/container-model.js';
import type { WorkerPool } from '../engine/pool.js';
import type { ContainerEngine, ExecOutcome, InteractiveProcess, ProcessLost } from '../engine/port.js';
import type { OrphanReaper } from '../engine/reaper.js';
import { OutputCollector, type StreamName } from '../engine/streams.js';
import { notFound } from '../errors.js';
import type { Execution, ExecutionFilter, ExecutionStore } from '../store/executions.js';
import type { PageArgs } from '../store/pages.js';
import type { StreamGap } from '../streams/gap.js';
import { createSubscriber, type QueueLimits } from '../streams/subscriber.js';
import type { Recorder } from './activity.js';
import { readable, visibleIn, visiblePage, type RecordShape } from './history.js';
import { runAs, type Caller } from './caller.js';
import { assertRunning, type ContainerService } from './containers.js';
import { absolutePath, argv, containerRef, envName, envValue, parseInput, processUser } from './validation.js';

export const MAX_EXEC_TIMEOUT_SECONDS = 3600;

export const execInput = z.object({
  /** A string runs through `/bin/sh -c`; a list runs as is, with no shell. */
  command: z.union([z.string().min(1, 'must not be empty').max(64 * 1024), argv]),
  user: processUser.optional(),
  workdir: absolutePath.optional(),
  env: z.record(envName, envValue).default({}),
  stdin: z.string().max(16 * 1024 * 1024).optional(),
  timeoutSeconds: z.number().positive().max(MAX_EXEC_TIMEOUT_SECONDS).optional(),
});
export type ExecInput = z.input<typeof execInput>;

export const execStreamInput = execInput.omit({ stdin: true, timeoutSeconds: true }).extend({
  /** A pseudo-terminal: output arrives as one stream, as a terminal shows it. */
  tty: z.boolean().default(false),
});
export type ExecStreamInput = z.input<typeof execStreamInput>;

const executionFilter = z.object({
  container: containerRef.optional(),
  caller: z.string().min(1).max(128).optional(),
  user: processUser.optional(),
  success: z.boolean().optional(),
  since: z.date().optional(),
  until: z.date().optional(),
});

export type { Execution };

/** What a streamed execution reports, in order: started, output (and gaps for a slow reader), exited or lost. */
export type ExecEvent =
  | { kind: 'started'; executionId: string }
  /** `cursor` counts the output chunks of this run: "1", "2", ... */
  | { kind: 'output'; stream: StreamName; data: string; cursor: string }
  | StreamGap
  | { kind: 'exited'; executionId: string; exitCode: number | null; durationMs: number }
  | ProcessLost;

const EXEC_QUEUE: QueueLimits<ExecEvent> = {
  maxItems: 512,
  maxBytes: 4 * 1024 * 1024,
  sizeOf: (event) => (event.kind === 'output' ? event.data.length : 0),
  gap: (missed, before) => ({ kind: 'gap', missed, resumeCursor: before?.kind === 'output' ? before.cursor : null }),
};

/** A string runs through `/bin/sh -c`; a list runs as is. */
export const toArgv = (command: string | string[]): string[] =>
  typeof command === 'string' ? ['/bin/sh', '-c', command] : command;

/** Seconds the pool waits beyond an exec's own timeout, for the kill and the partial result. */
const KILL_GRACE_MS = 5000;

export class ExecService {
  /**
   * Streamed executions with a subscriber: how to stop each, and a promise that settles when
   * its subscriber has its last event (or left), so shutdown can end them and let that arrive.
   */
  private readonly subscribed = new Map<InteractiveProcess, { stop: () => Promise<void>; delivered: Promise<void> }>();
  /** Set by closeStreams: a stream that starts after it is stopped at once. */
  private closing = false;

  constructor(
    private readonly engine: ContainerEngine,
    private readonly reaper: OrphanReaper,
    private readonly pool: WorkerPool,
    private readonly containers: ContainerService,
    private readonly history: ExecutionStore,
    private readonly recorder: Recorder,
    private readonly maxOutputBytes: number,
  ) {}

  /**
   * Runs a command and waits for it, up to its timeout. When `cancel` aborts (the client went
   * away), the process tree is killed, its slot freed and the run recorded as cancelled.
   */
  async run(caller: Caller, ref: string, input: ExecInput, cancel?: AbortSignal): Promise<Execution> {
    const spec = runAs(caller, parseInput(execInput, input));
    const command = toArgv(spec.command);
    const timeoutMs = spec.timeoutSeconds ? spec.timeoutSeconds * 1000 : this.pool.write.defaultTimeoutMs;
    const id = parseInput(containerRef, ref);
    // A reference that is not an ID is the container's exact name, and the exec's own inspect
    // gives its ID: the record then needs no inspect of the container (on Podman that takes the
    // container's lock, and the exec ends later by as long). A full ID is inspected while the
    // process runs, not before, which adds nothing to the time an exec takes. A reference the
    // engine would read otherwise (an ID prefix, which a name could shadow) is resolved first, and
    // so is any reference of a scoped caller: nothing runs before its scope is known to allow it.
    const knownName = isContainerIdRef(id) ? null : id;
    const execution = await this.pool.write.run(async (poolSignal) => {
      let inspection: Promise<ContainerModel> | undefined;
      const inspect = () => (inspection ??= this.containers.inspectIn(caller, id, poolSignal));
      const target = this.engine.readsRefAlike(id) && !caller.scoped ? id : (await inspect()).id;
      const timeout = AbortSignal.timeout(timeoutMs);
      // The client's leaving stops the process, not the inspect that records the run.
      const signal = AbortSignal.any([poolSignal, timeout, ...(cancel ? [cancel] : [])]);
      let outcome: ExecOutcome;
      try {
        outcome = await this.engine.exec(
          target,
          {
            argv: command,
            user: spec.user,
            workdir: spec.workdir,
            env: envList(spec.env),
            stdin: spec.stdin === undefined ? undefined : Buffer.from(spec.stdin, 'utf8'),
            maxOutputBytes: this.maxOutputBytes,
            onStarted: knownName ? undefined : () => void inspect().catch(() => undefined), // awaited below
          },
          signal,
        );
      } catch (error) {
        // A container that is not running explains the failure better than the engine's words.
        const container = await inspect().catch(() => undefined);
        if (container) assertRunning(container);
        throw error;
      }
      const { killed, containerId, ...rest } = outcome;
      // Killed for any other reason than its own timeout: its client left, or the server is stopping.
      const ended = { ...rest, timedOut: killed && timeout.aborted, cancelled: killed && !timeout.aborted };
      // The index knows a container the exec found by name, with its labels, at no cost.
      const container = knownName && containerId ? await this.containers.get(containerId) : await inspect();
      return toExecution(randomUUID(), caller, container, command, spec, ended);
    }, timeoutMs + KILL_GRACE_MS, cancel).catch(async (error: unknown) => {
      throw await this.recorder.failed(caller, 'EXEC_START', id, {}, error);
    });
    await this.recorder.execution(caller, execution);
    return execution;
  }

  /**
   * Runs a command and streams its output while it runs, with no time bound: the consumer
   * decides how long. A consumer that leaves kills the process tree. Every run, finished or
   * killed, lands in the history with its output up to the cap.
   */
  async stream(caller: Caller, ref: string, input: ExecStreamInput): Promise<AsyncIterable<ExecEvent>> {
    const spec = runAs(caller, parseInput(execStreamInput, input));
    const command = toArgv(spec.command);
    const executionId = randomUUID();
    // Checked before the stream starts, so a bad reference fails like any other request.
    const container = await this.recorder.action(caller, 'EXEC_START', ref, { executionId }, async (about) =>
      about(await this.pool.write.run((signal) => this.containers.requireRunning(caller, ref, signal))),
    );
    return createSubscriber(EXEC_QUEUE, async (sink) => {
      const collector = new OutputCollector(this.maxOutputBytes);
      let cursor = 0;
      // Output can arrive before start() returns; `started` must still come first.
      let announced = false;
      const announce = () => {
        if (!announced) sink.push({ kind: 'started', executionId });
        announced = true;
      };
      const child = await this.pool.write.run((signal) =>
        this.engine.startProcess(
          container.id,
          { argv: command, user: spec.user, workdir: spec.workdir, env: envList(spec.env), tty: spec.tty, stdin: false },
          {
            output: (output) => {
              announce();
              collector.push(output);
              if (output.text) sink.push({ kind: 'output', stream: output.stream, data: output.text, cursor: String(++cursor) });
            },
            lost: (run) => this.reaper.adopt(run),
          },
          signal,
        ),
      );
      announce();
      let cancelled = false;
      const stop = () => {
        cancelled ||= child.running;
        return child.kill();
      };
      let delivered!: () => void;
      this.subscribed.set(child, { stop, delivered: new Promise((resolve) => (delivered = resolve)) });
      if (this.closing) void stop();
      void child.exited.then(async (end) => {
        const exitCode = end.kind === 'exited' ? end.exitCode : null;
        const outcome = { exitCode, ...collector.finish(), timedOut: false, cancelled, startedAt: child.startedAt, finishedAt: new Date() };
        const execution = toExecution(executionId, caller, container, command, spec, outcome);
        const recorded = await this.recorder.execution(caller, execution).then(() => undefined, (error: Error) => error);
        const last: ExecEvent = end.kind === 'exited' ? { kind: 'exited', executionId, exitCode, durationMs: execution.durationMs } : end;
        if (!recorded) return sink.finish(last);
        // The run ended as it says; the client also hears that its record was not kept.
        sink.push(last);
        sink.end(recorded);
      });
      // Runs once the subscriber has taken the exit event, or has left.
      return () => {
        this.subscribed.delete(child);
        delivered();
        void stop();
      };
    });
  }

  /** For shutdown: kills every streamed execution and waits until each subscriber has its exit. */
  async closeStreams(): Promise<void> {
    this.closing = true;
    const open = [...this.subscribed.values()];
    await Promise.all(open.map(({ stop }) => stop()));
    await Promise.all(open.map(({ delivered }) => delivered));
  }

  /** Streamed executions still running. */
  get streaming(): number {
    return [...this.subscribed.keys()].filter((child) => child.running).length;
  }

  /** An execution by id, if the caller may see its container (else NOT_FOUND, as for none). */
  async find(caller: Caller, id: string): Promise<Execution> {
    const execution = await readable(() => this.history.get(id));
    if (!execution || !visibleIn(caller, EXECUTION_SHAPE.container(execution))) throw notFound(`No such execution: ${id}`);
    return execution;
  }

  /** Recorded executions the caller may see, newest first. */
  async page(caller: Caller, filter: ExecutionFilter, page: PageArgs): Promise<Execution[]> {
    const filtered = parseInput(executionFilter, filter);
    return visiblePage(caller, page, EXECUTION_SHAPE, (next) => this.history.page(filtered, next));
  }

}

const envList = (env: Record<string, string>): string[] => Object.entries(env).map(([k, v]) => `${k}=${v}`);

export const EXECUTION_SHAPE: RecordShape<Execution> = {
  container: (e) => ({ id: e.containerId, name: e.containerName, labels: e.containerLabels }),
  key: (e) => ({ at: e.startedAt.toISOString(), id: e.id }),
};

function toExecution(
  id: string,
  caller: Caller,
  container: ContainerModel,
  command: string[],
  spec: { user?: string; workdir?: string },
  outcome: Omit<ExecOutcome, 'containerId' | 'killed'> & Pick<Execution, 'timedOut' | 'cancelled'>,
): Execution {
  return {
    ...outcome,
    id,
    containerId: container.id,
    containerName: container.name,
    containerLabels: container.labels,
    actor: caller.actor,
    command,
    user: spec.user ?? null,
    workdir: spec.workdir ?? null,
    success: outcome.exitCode === 0 && !outcome.timedOut && !outcome.cancelled,
    durationMs: outcome.finishedAt.getTime() - outcome.startedAt.getTime(),
  };
}
