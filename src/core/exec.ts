import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Engine, ExecOutcome } from '../engine/engine.js';
import type { WorkerPool } from '../engine/pool.js';
import type { ContainerService } from './containers.js';
import { absolutePath, argv, envName, envValue, parseInput, processUser } from './validation.js';

export interface Execution {
  id: string;
  containerId: string;
  containerName: string;
  command: string[];
  user: string | null;
  exitCode: number | null;
  stdout: string;
  stderr: string;
  output: string;
  success: boolean;
  startedAt: Date;
  finishedAt: Date;
  durationMs: number;
  timedOut: boolean;
  truncated: boolean;
}

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

/** Seconds the pool waits beyond an exec's own timeout, for the kill and the partial result. */
const KILL_GRACE_MS = 5000;

/** Keeps the most recent executions in memory so they can be looked up after the fact. */
export class ExecutionHistory {
  private readonly byId = new Map<string, Execution>();

  constructor(private readonly capacity: number) {}

  add(execution: Execution): void {
    this.byId.set(execution.id, execution);
    if (this.byId.size > this.capacity) this.byId.delete(this.byId.keys().next().value!);
  }

  get(id: string): Execution | undefined {
    return this.byId.get(id);
  }

  forContainer(containerId: string, limit: number): Execution[] {
    return [...this.byId.values()].filter((e) => e.containerId === containerId).reverse().slice(0, limit);
  }
}

export class ExecService {
  constructor(
    private readonly engine: Engine,
    private readonly pool: WorkerPool,
    private readonly containers: ContainerService,
    private readonly history: ExecutionHistory,
    private readonly maxOutputBytes: number,
  ) {}

  async run(ref: string, input: ExecInput): Promise<Execution> {
    const spec = parseInput(execInput, input);
    const command = typeof spec.command === 'string' ? ['/bin/sh', '-c', spec.command] : spec.command;
    const timeoutMs = spec.timeoutSeconds ? spec.timeoutSeconds * 1000 : this.pool.defaultTimeoutMs;
    const execution = await this.pool.run(async (poolSignal) => {
      const container = await this.containers.requireRunning(ref, poolSignal);
      const signal = AbortSignal.any([poolSignal, AbortSignal.timeout(timeoutMs)]);
      const outcome = await this.engine.exec(
        container.id,
        {
          argv: command,
          user: spec.user,
          workdir: spec.workdir,
          env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
          stdin: spec.stdin === undefined ? undefined : Buffer.from(spec.stdin, 'utf8'),
          maxOutputBytes: this.maxOutputBytes,
        },
        signal,
      );
      return toExecution(container.id, container.name, command, spec.user ?? null, outcome);
    }, timeoutMs + KILL_GRACE_MS);
    this.history.add(execution);
    return execution;
  }

  get(id: string): Execution | undefined {
    return this.history.get(id);
  }

  recent(containerId: string, limit: number): Execution[] {
    return this.history.forContainer(containerId, limit);
  }
}

function toExecution(
  containerId: string,
  containerName: string,
  command: string[],
  user: string | null,
  outcome: ExecOutcome,
): Execution {
  return {
    id: randomUUID(),
    containerId,
    containerName,
    command,
    user,
    ...outcome,
    success: outcome.exitCode === 0 && !outcome.timedOut,
    durationMs: outcome.finishedAt.getTime() - outcome.startedAt.getTime(),
  };
}
