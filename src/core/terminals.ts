import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { ContainerModel } from '../engine/container-model.js';
import type { WorkerPool } from '../engine/pool.js';
import type { ContainerEngine, InteractiveProcess, ProcessEnd, TerminalSize } from '../engine/port.js';
import type { OrphanReaper } from '../engine/reaper.js';
import { AppError, conflict, forbidden, notFound } from '../errors.js';
import type { Recording, RecordingStore } from '../store/recordings.js';
import type { StreamGap } from '../streams/gap.js';
import { createSubscriber, type QueueLimits, type Sink } from '../streams/subscriber.js';
import { markOf, type Recorder } from './activity.js';
import { runAs, type Caller } from './caller.js';
import type { ContainerService } from './containers.js';
import { TerminalRecording } from './terminal-recording.js';
import { TerminalScreen } from './terminal-screen.js';
import { toArgv } from './exec.js';
import { argv, parseInput, processUser } from './validation.js';

/** Output kept per terminal for watchers who join late. */
const SCROLLBACK_BYTES = 256 * 1024;
/** How long an exited terminal stays readable, so a late watcher still gets its output and exit code. */
const EXITED_LINGER_MS = 60_000;

// Fixed script, nothing from the client in it: the user's shell from /etc/passwd as a login
// shell in their home, or /bin/sh when there is none.
const LOGIN_SHELL = [
  `shell=$(awk -F: -v u="$(id -un 2>/dev/null)" '$1 == u { print $7 }' /etc/passwd 2>/dev/null)`,
  '[ -x "$shell" ] || shell=/bin/sh',
  'cd "$HOME" 2>/dev/null',
  'exec "$shell" -l',
].join('\n');

const dimension = z.number().int().min(1).max(1000);
const terminalSize = z.object({ cols: dimension, rows: dimension });

export const openTerminalInput = z.object({
  user: processUser.optional(),
  /** A string runs through `/bin/sh -c`; a list runs as is; none starts the user's login shell. */
  command: z.union([z.string().min(1, 'must not be empty').max(64 * 1024), argv]).optional(),
  cols: dimension.default(80),
  rows: dimension.default(24),
});
export type OpenTerminalInput = z.input<typeof openTerminalInput>;

const terminalId = z.uuid('must be a terminal id');
/** Keys typed or pasted: control characters are meant (Ctrl-C is \u0003). */
const terminalData = z.string().min(1, 'must not be empty').max(64 * 1024);
/** Terminal cursors count output chunks: "1", "2", ... */
const cursor = z
  .string()
  .regex(/^\d{1,15}$/, 'must be a cursor this terminal gave')
  .transform(Number);

export interface TerminalModel {
  id: string;
  containerId: string;
  containerName: string;
  user: string | null;
  /** Null for the user's login shell. */
  command: string[] | null;
  cols: number;
  rows: number;
  openedAt: Date;
  /** Subscribers watching right now. */
  watchers: number;
  /** Cursor of the latest output ("0" before any). */
  cursor: string;
  running: boolean;
  /** Set once the process has exited; null when the engine could not tell. */
  exitCode: number | null;
}

/** The last event: the process exited (or was closed), or it was lost with the engine. */
export type TerminalEvent = { kind: 'output'; data: string; cursor: string } | StreamGap | ProcessEnd;

const WATCHER_QUEUE: QueueLimits<TerminalEvent> = {
  maxItems: 1024,
  maxBytes: 2 * SCROLLBACK_BYTES,
  sizeOf: (event) => (event.kind === 'output' ? event.data.length : 0),
  gap: (missed, before) => ({ kind: 'gap', missed, resumeCursor: before?.kind === 'output' ? before.cursor : null }),
};

export interface TerminalLimits {
  maxTerminals: number;
  /** Most terminals one token may have open at once. */
  maxPerOwner: number;
  /** A terminal nobody watches or types into for this long is closed. */
  idleTimeoutMs: number;
}

interface Chunk {
  data: string;
  cursor: number;
  bytes: number;
}

/** One shared terminal: its process, its scrollback and the sinks of everyone watching. */
class TerminalSession {
  readonly watchers = new Set<Sink<TerminalEvent>>();
  process!: InteractiveProcess;
  /** What every watcher receives last; set once the process has ended. */
  private ending: ProcessEnd | undefined;
  private scrollback: Chunk[] = [];
  private scrollbackStart = 0;
  private scrollbackBytes = 0;
  private cursor = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  /** Settles once every watcher has received the exit (or left); set when the process exits. */
  delivered: Promise<void> | undefined;
  private allDelivered: (() => void) | undefined;

  /** Settles once the terminal has ended for its watchers (after its last output is recorded). */
  readonly ended: Promise<void>;
  private markEnded!: () => void;

  /** Bytes typed, by token id, for the session's audit record. */
  readonly typed = new Map<string, number>();
  /** What it shows, for a lab's grid: emulated only when asked, so a terminal nobody shows costs nothing. */
  private readonly screen: TerminalScreen;
  /** The last output chunk the screen has been given. */
  private screenCursor = 0;
  /** When it last printed, or was typed into or resized (0: never): a student's activity, which no record marks. */
  lastActiveAt = 0;

  constructor(
    readonly id: string,
    readonly openedAt: Date,
    readonly container: ContainerModel,
    /** Null when terminals are not recorded. */
    readonly recording: TerminalRecording | null,
    /** The token that opened it, for the per-token bound. */
    readonly owner: string,
    readonly user: string | null,
    readonly command: string[] | null,
    public size: TerminalSize,
    private readonly idleTimeoutMs: number,
    private readonly onIdle: () => void,
  ) {
    this.ended = new Promise((resolve) => (this.markEnded = resolve));
    this.screen = new TerminalScreen(size);
  }

  /** Called once the process runs: from now on the terminal can be idle. */
  begin(process: InteractiveProcess): void {
    this.process = process;
    this.armIdleTimer();
  }

  get model(): TerminalModel {
    return {
      id: this.id,
      containerId: this.container.id,
      containerName: this.container.name,
      user: this.user,
      command: this.command,
      ...this.size,
      openedAt: this.openedAt,
      watchers: this.watchers.size,
      cursor: String(this.cursor),
      running: this.running,
      exitCode: this.ending?.kind === 'exited' ? this.ending.exitCode : null,
    };
  }

  get running(): boolean {
    return this.ending === undefined;
  }

  /** Output from the process: recorded first, then shown, so whatever a watcher saw is in the recording. */
  record(data: string): void {
    if (!data) return;
    if (!this.recording) return this.show(data);
    this.recording.append('o', data).then(
      () => this.show(data),
      (error: AppError) => this.fail(error),
    );
  }

  /** Ends the terminal for its watchers with `error`; its process is killed. */
  fail(error: AppError): void {
    if (this.ending) return;
    this.exit({ kind: 'lost', error });
    void this.process?.kill();
  }

  private show(data: string): void {
    const chunk = { data, cursor: ++this.cursor, bytes: Buffer.byteLength(data) };
    this.scrollback.push(chunk);
    this.scrollbackBytes += chunk.bytes;
    while (this.scrollbackBytes > SCROLLBACK_BYTES && this.scrollback.length - this.scrollbackStart > 1) {
      this.scrollbackBytes -= this.scrollback[this.scrollbackStart++]!.bytes;
    }
    // Drop trimmed chunks in batches, not one shift per chunk of keyboard echo.
    if (this.scrollbackStart > 1024 && this.scrollbackStart * 2 > this.scrollback.length) {
      this.scrollback = this.scrollback.slice(this.scrollbackStart);
      this.scrollbackStart = 0;
    }
    for (const sink of this.watchers) sink.push({ kind: 'output', data, cursor: String(chunk.cursor) });
    this.lastActiveAt = Date.now();
  }

  /** What it shows now: the screen is brought up to date from the scrollback first. */
  async screenText(): Promise<string> {
    const unseen = this.scrollback.slice(this.scrollbackStart).filter((chunk) => chunk.cursor > this.screenCursor);
    // Output trimmed from the scrollback before the screen saw it: start over from what is kept.
    if (unseen.length && unseen[0]!.cursor > this.screenCursor + 1) this.screen.reset();
    for (const chunk of unseen) this.screen.write(chunk.data);
    this.screenCursor = this.cursor;
    return this.screen.text();
  }

  resize(size: TerminalSize): void {
    this.size = size;
    this.screen.resize(size);
  }

  dispose(): void {
    this.screen.dispose();
  }

  /** Replays the scrollback after `after` as one event, then streams live output. */
  join(sink: Sink<TerminalEvent>, after: number | undefined): () => void {
    const missing = this.scrollback.slice(this.scrollbackStart).filter((c) => after === undefined || c.cursor > after);
    if (missing.length) sink.push({ kind: 'output', data: missing.map((c) => c.data).join(''), cursor: String(missing.at(-1)!.cursor) });
    if (this.ending) {
      sink.finish(this.ending);
      return () => undefined;
    }
    this.watchers.add(sink);
    clearTimeout(this.idleTimer);
    // Runs once this watcher has taken the exit event, or has left.
    return () => {
      this.watchers.delete(sink);
      if (this.watchers.size === 0) this.allDelivered?.();
      this.armIdleTimer();
    };
  }

  /** Input and resizes count as activity for an unwatched terminal. */
  touch(): void {
    this.lastActiveAt = Date.now();
    this.armIdleTimer();
  }

  exit(end: ProcessEnd): void {
    if (this.ending) return;
    this.ending = end;
    this.markEnded();
    clearTimeout(this.idleTimer);
    this.delivered = this.watchers.size === 0 ? Promise.resolve() : new Promise((resolve) => (this.allDelivered = resolve));
    for (const sink of this.watchers) sink.finish(end);
  }

  private armIdleTimer(): void {
    clearTimeout(this.idleTimer);
    if (this.watchers.size > 0 || !this.running) return;
    this.idleTimer = setTimeout(this.onIdle, this.idleTimeoutMs);
    this.idleTimer.unref();
  }
}

/**
 * Interactive terminals that several people can watch at once. Each has one process with a
 * pseudo-terminal; its output goes to every watcher's own bounded queue and to a scrollback
 * that late joiners receive first. A terminal ends for everyone when its process exits.
 */
export class TerminalService {
  private readonly sessions = new Map<string, TerminalSession>();
  /** Opens in progress per owner, counted against the limits before they exist. */
  private readonly opening = new Map<string, number>();
  /** Set by closeAll: a terminal whose open finishes after it is closed at once. */
  private closing = false;

  constructor(
    private readonly engine: ContainerEngine,
    private readonly reaper: OrphanReaper,
    private readonly pool: WorkerPool,
    private readonly containers: ContainerService,
    private readonly limits: TerminalLimits,
    private readonly recorder: Recorder,
    /** Null when terminals are not recorded (RECORD_TERMINALS=false). */
    private readonly recordings: RecordingStore | null,
  ) {}

  /** Opens a terminal for `owner` (a token id), within the global and the per-token bound. */
  async open(caller: Caller, ref: string, input: OpenTerminalInput, owner: string): Promise<TerminalModel> {
    const spec = runAs(caller, parseInput(openTerminalInput, input));
    if (this.running + this.openingCount() >= this.limits.maxTerminals) {
      throw conflict(`${this.limits.maxTerminals} terminals are open, the most allowed; close one first`);
    }
    const owned = [...this.sessions.values()].filter((s) => s.running && s.owner === owner).length;
    if (owned + this.openingCount(owner) >= this.limits.maxPerOwner) {
      throw conflict(`This token has ${this.limits.maxPerOwner} terminals open, the most allowed (MAX_TERMINALS_PER_TOKEN); close one first`);
    }
    this.opening.set(owner, this.openingCount(owner) + 1);
    try {
      const id = randomUUID();
      const session = await this.recorder.action(caller, 'TERMINAL_OPEN', ref, { terminal: id }, (about) => this.pool.write.run(async (signal) => {
        const container = about(await this.containers.requireRunning(caller, ref, signal));
        const command = spec.command === undefined ? null : toArgv(spec.command);
        const size = { cols: spec.cols, rows: spec.rows };
        const openedAt = new Date();
        const recording = this.recordings && (await this.beginRecording(this.recordings, { id, container: markOf(container), actor: caller.actor, user: spec.user ?? null, command, ...size, startedAt: openedAt, endedAt: null, exitCode: null }));
        const created = new TerminalSession(id, openedAt, container, recording, owner, spec.user ?? null, command, size, this.limits.idleTimeoutMs, () => {
          void this.close(created.id).catch(() => undefined);
        });
        const child = await this.engine.startProcess(
          container.id,
          { argv: command ?? ['/bin/sh', '-c', LOGIN_SHELL], user: spec.user, env: ['TERM=xterm-256color'], tty: true, stdin: true, size },
          { output: (output) => created.record(output.text), lost: (run) => this.reaper.adopt(run) },
          signal,
        );
        created.begin(child);
        return created;
      }));
      this.sessions.set(session.id, session);
      void session.process.exited.then(async (end) => {
        // The exit comes after the last output, once that and the recording's end are stored.
        const exitCode = end.kind === 'exited' ? end.exitCode : null;
        await session.recording?.end(exitCode);
        session.exit(end);
        // One record per terminal, when it ends: who opened it and how much each token typed.
        const detail = {
          terminal: session.id,
          openedBy: session.owner,
          typedBytes: Object.fromEntries(session.typed),
          exitCode,
          durationMs: Date.now() - session.openedAt.getTime(),
        };
        void this.recorder.record(caller, 'TERMINAL_CLOSE', markOf(session.container), 'ok', detail).catch(() => undefined);
        setTimeout(() => {
          this.sessions.delete(session.id);
          session.dispose();
        }, EXITED_LINGER_MS).unref();
      });
      if (this.closing) void session.process.kill();
      return session.model;
    } finally {
      const left = this.openingCount(owner) - 1;
      if (left > 0) this.opening.set(owner, left);
      else this.opening.delete(owner);
    }
  }

  /** Nothing runs unrecorded: a history store that cannot take the recording refuses the terminal. */
  private async beginRecording(recordings: RecordingStore, recording: Recording): Promise<TerminalRecording> {
    await recordings.begin(recording).catch(() => {
      throw new AppError('STORE_UNAVAILABLE', 'The history store cannot record a terminal right now, so none was opened');
    });
    return new TerminalRecording(recordings, recording.id, recording.startedAt.getTime());
  }

  /** Opens in progress: an owner's, or everyone's. */
  private openingCount(owner?: string): number {
    if (owner !== undefined) return this.opening.get(owner) ?? 0;
    return [...this.opening.values()].reduce((sum, count) => sum + count, 0);
  }

  get(id: string): TerminalModel {
    return this.require(id).model;
  }

  /** A terminal by id, if the caller may see its container (else NOT_FOUND, as for no terminal). */
  async find(caller: Caller, id: string): Promise<TerminalModel> {
    const terminal = this.get(id);
    await this.containers.assertVisible(caller, terminal.containerId, () => notFound(`No such terminal: ${id}`));
    return terminal;
  }

  forContainer(containerId: string): TerminalModel[] {
    return this.sessionsIn(containerId).map((s) => s.model);
  }

  /** Output after `after` (the whole scrollback without it), then live until the process exits; for a while after, just the end. */
  watch(id: string, after?: string): AsyncIterable<TerminalEvent> {
    const session = this.require(id);
    const from = parseInput(cursor.optional(), after);
    return createSubscriber(WATCHER_QUEUE, (sink) => session.join(sink, from));
  }

  /**
   * Types into the terminal as the caller; who typed how much goes into the session's one audit
   * record. A student types only into terminals that run as their own account: one a teacher
   * opened as root in their container is theirs to watch, not to use.
   */
  async input(caller: Caller, id: string, data: string): Promise<void> {
    const terminal = await this.find(caller, id);
    if (caller.account !== undefined && terminal.user !== caller.account) throw forbidden(`A student's token types only into terminals that run as ${caller.account}`);
    const session = this.require(terminal.id);
    const text = parseInput(terminalData, data);
    const bytes = Buffer.from(text, 'utf8');
    const typist = caller.actor.tokenId;
    session.process.write(bytes);
    session.recording?.append('i', text, typist).catch((error: AppError) => session.fail(error));
    session.typed.set(typist, (session.typed.get(typist) ?? 0) + bytes.length);
    session.touch();
  }

  async resize(id: string, size: TerminalSize): Promise<TerminalModel> {
    const session = this.require(id);
    const next = parseInput(terminalSize, size);
    await this.pool.write.run(() => session.process.resize(next));
    session.resize(next);
    session.recording?.append('r', `${next.cols}x${next.rows}`).catch((error: AppError) => session.fail(error));
    session.touch();
    return session.model;
  }

  /** The screen of the container's terminal that was active last, running ones first; null without one. */
  async screenOf(containerId: string): Promise<string | null> {
    const sessions = this.sessionsIn(containerId).sort((a, b) => Number(b.running) - Number(a.running) || b.lastActiveAt - a.lastActiveAt);
    return sessions[0] ? sessions[0].screenText() : null;
  }

  /** When any terminal in the container last printed or was typed into; null without one. */
  lastActivityOf(containerId: string): Date | null {
    const at = Math.max(0, ...this.sessionsIn(containerId).map((session) => session.lastActiveAt));
    return at ? new Date(at) : null;
  }

  private sessionsIn(containerId: string): TerminalSession[] {
    return [...this.sessions.values()].filter((session) => session.container.id === containerId);
  }

  /** Kills the terminal's process; every watcher receives the exit. */
  async close(id: string): Promise<TerminalModel> {
    const session = this.require(id);
    await session.process.kill();
    await session.ended;
    return session.model;
  }

  /** For shutdown: closes every terminal and waits until each watcher has received its end. */
  async closeAll(): Promise<void> {
    this.closing = true;
    const sessions = [...this.sessions.values()];
    await Promise.all(sessions.map((session) => this.close(session.id).catch(() => undefined)));
    await Promise.all(sessions.map((session) => session.delivered));
  }

  /** Terminals whose process still runs. */
  get running(): number {
    return [...this.sessions.values()].filter((s) => s.running).length;
  }

  private require(id: string): TerminalSession {
    const session = this.sessions.get(parseInput(terminalId, id));
    if (!session) throw notFound(`No such terminal: ${id}`);
    return session;
  }
}
