import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { z } from 'zod';
import { AppError, badInput, conflict, forbidden, fromEngineError, notFound } from '../../errors.js';
import type { ContainerModel } from '../../engine/container-model.js';
import type { StatsSample } from '../../engine/port.js';
import type { LabEntry, LabStore, SavedTemplate, StudentEntry } from '../../store/labs.js';
import type { StreamGap } from '../../streams/gap.js';
import { createSubscriber, type QueueLimits, type Sink } from '../../streams/subscriber.js';
import type { ActivityKind, Recorder } from '../activity.js';
import type { Caller } from '../caller.js';
import type { ContainerService } from '../containers.js';
import type { ExecService, Execution } from '../exec.js';
import type { FileService } from '../files.js';
import { KeyedMutex } from '../keyed-mutex.js';
import { toLiveTarget } from '../live-target.js';
import { Limiter } from '../limiter.js';
import type { Requester } from '../policy.js';
import { sha512Crypt } from '../shacrypt.js';
import type { StatsService } from '../stats.js';
import type { TerminalService } from '../terminals.js';
import type { UserService } from '../users.js';
import { argv, parseInput, processUser } from '../validation.js';
import { LAB_LABEL, containerNameOf, labName, labTemplate, labelSelectorsOf, planFor, studentId, templateName, ttlSeconds, type LabTemplate, type LabTemplateInput } from './template.js';
import type { StudentTokens } from './tokens.js';

export const LAB_STATES = ['ACTIVE', 'STOPPED', 'EXPIRED'] as const;
export type LabState = (typeof LAB_STATES)[number];
export const STUDENT_STATES = ['PENDING', 'PROVISIONING', 'READY', 'FAILED'] as const;
export type StudentState = (typeof STUDENT_STATES)[number];
export const PROVISION_STEPS = ['CONTAINER', 'ACCOUNTS', 'FILES', 'SETUP'] as const;
export type ProvisionStep = (typeof PROVISION_STEPS)[number];

/** States a student's provisioning has not ended in: a start resumes them. */
const UNSETTLED: readonly StudentState[] = ['PENDING', 'PROVISIONING'];

export interface Lab {
  name: string;
  template: LabTemplate;
  state: LabState;
  createdAt: Date;
  expiresAt: Date;
}

export interface Student {
  lab: string;
  id: string;
  displayName: string;
  state: StudentState;
  reason: string | null;
  /** The step it is at while provisioning. */
  step: ProvisionStep | null;
  containerName: string;
}

/** What a student is handed, once: the password of their account and their token. */
export interface Credentials {
  student: string;
  displayName: string;
  password: string;
  token: string;
  tokenId: string;
}

export interface TokenInfo {
  id: string;
  lab: string;
  student: string;
  createdAt: Date;
  revokedAt: Date | null;
}

export interface CheckResult {
  student: string;
  execution: Execution | null;
  /** Why the check could not run in this student's container. */
  error: AppError | null;
}

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

export interface LabLimits {
  /** Students in one lab. */
  maxStudents: number;
  /** Students (one container each) in all labs together. */
  maxStudentsTotal: number;
  /** Students provisioned, and checks run, at once: MAX_WORKERS. */
  concurrency: number;
  /** How long an expired lab's stopped containers are kept before the lab is removed. */
  gracePeriodMs: number;
}

const roster = z
  .array(z.object({ id: studentId, displayName: z.string().trim().min(1).max(200) }))
  .min(1)
  .max(100_000)
  .superRefine((students, ctx) => {
    const seen = new Set<string>();
    for (const [index, { id }] of students.entries()) {
      if (seen.has(id)) ctx.addIssue({ code: 'custom', path: [index, 'id'], message: `the student ${id} is listed twice` });
      seen.add(id);
    }
  });

const createLabInput = z
  .object({
    name: labName,
    template: labTemplate.optional(),
    templateName: templateName.optional(),
    students: roster,
    ttlSeconds: ttlSeconds.optional(),
  })
  .refine((input) => (input.template === undefined) !== (input.templateName === undefined), 'give exactly one of template and templateName');
export type CreateLabInput = z.input<typeof createLabInput>;

const checkInput = z.object({
  command: z.union([z.string().min(1).max(64 * 1024), argv]),
  user: processUser.optional(),
  timeoutSeconds: z.number().positive().max(600).default(60),
});

const statusInput = z.object({ intervalMs: z.number().int().min(1000).max(60_000).default(2000) });

/** A tick is a whole class's picture: a subscriber that falls behind needs only the newest. */
const STATUS_QUEUE: QueueLimits<LabStatus | StreamGap> = { maxItems: 2, gap: (missed) => ({ kind: 'gap', missed, resumeCursor: null }) };
const PROGRESS_QUEUE: QueueLimits<Student | StreamGap> = { maxItems: 10_000, gap: (missed) => ({ kind: 'gap', missed, resumeCursor: null }) };
const CHECK_QUEUE: QueueLimits<CheckResult | StreamGap> = { maxItems: 10_000, gap: (missed) => ({ kind: 'gap', missed, resumeCursor: null }) };

/** Twelve characters from an alphabet without look-alikes (no 0/O, 1/l/I): easy to copy from paper. */
const PASSWORD_ALPHABET = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
function generatePassword(): string {
  // 256 is not a multiple of the alphabet's size: bytes beyond the last whole multiple are skipped, so every character is equally likely.
  const limit = 256 - (256 % PASSWORD_ALPHABET.length);
  let password = '';
  while (password.length < 12) for (const byte of randomBytes(16)) if (byte < limit && password.length < 12) password += PASSWORD_ALPHABET[byte % PASSWORD_ALPHABET.length];
  return password;
}

/** Who acts when the server itself does something to a lab: expiry. */
const SERVER: Caller = { actor: { tokenId: 'podgraph', role: 'admin' }, scoped: false, inScope: () => true };

interface Services {
  containers: ContainerService;
  users: UserService;
  files: FileService;
  exec: ExecService;
  stats: StatsService;
  terminals: TerminalService;
}

/**
 * A class as one object: a lab made from a template for a roster of students, each with a
 * container, an account and a token of their own. Checks who may manage labs (staff tokens
 * without a scope), records what is done, provisions students concurrently and resumably, and
 * stops and removes expired labs.
 */
export class LabService {
  private readonly workers: Limiter;
  /** One provisioning, reset or removal at a time per student. */
  private readonly perStudent = new KeyedMutex();
  /** Enrolments one at a time, so two at once cannot both pass the name and quota checks. */
  private readonly enrolling = new Limiter(1);
  /** The step of each student being provisioned, by `lab/student`. */
  private readonly steps = new Map<string, ProvisionStep>();
  private readonly followers = new Map<string, Set<Sink<Student | StreamGap>>>();
  /** Provisioning in flight, by lab: a lab's removal waits for its own. */
  private readonly inFlight = new Map<string, Set<Promise<void>>>();
  /** Labs being removed: their provisioning stops at its next step. */
  private readonly removing = new Set<string>();
  private expiryTimer: NodeJS.Timeout | undefined;
  /** Set when the server stops: provisioning cut short stays unsettled, to resume at the next start. */
  private stopping = false;

  constructor(
    private readonly store: LabStore,
    readonly tokens: StudentTokens,
    private readonly services: Services,
    private readonly recorder: Recorder,
    private readonly limits: LabLimits,
    private readonly logger: Logger,
  ) {
    this.workers = new Limiter(limits.concurrency);
  }

  /** Loads the tokens, resumes provisioning a stop cut short, and schedules expiry. */
  async start(): Promise<void> {
    const labs = new Map((await this.store.labs()).map((lab) => [lab.name, lab]));
    for (const lab of labs.values()) this.tokens.setExpiry(lab.name, lab.expiresAt);
    for (const token of await this.store.tokens()) this.tokens.add(token);
    for (const student of await this.store.unsettledStudents(UNSETTLED)) {
      const lab = labs.get(student.lab);
      if (lab) this.provisionInBackground(lab, [student], creatorOf(lab), requesterOf(lab));
    }
    this.scheduleExpiry();
  }

  /** Stops expiry and waits for provisioning in flight to wind down (the pool refuses its next steps). */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.expiryTimer);
    await Promise.allSettled([...this.inFlight.values()].flatMap((running) => [...running]));
    for (const sinks of this.followers.values()) for (const sink of sinks) sink.end();
  }

  async saveTemplate(caller: Caller, name: string, input: LabTemplateInput, requester: Requester): Promise<SavedTemplate> {
    assertStaff(caller);
    const templateKey = parseInput(templateName, name);
    const template = parseInput(labTemplate, input);
    return this.recorder.action(caller, 'TEMPLATE_SAVE', null, { template: templateKey }, async () => {
      await this.checkTemplate(template, requester);
      const saved = { name: templateKey, spec: template, savedAt: new Date(), savedBy: caller.actor.tokenId };
      await this.store.saveTemplate(saved);
      return saved;
    });
  }

  async templates(caller: Caller): Promise<SavedTemplate[]> {
    assertStaff(caller);
    return this.store.templates();
  }

  /**
   * Creates a lab: the template is checked (policy, image) and the quotas kept before anything
   * exists; the lab, its students and tokens are stored; then every student is provisioned in
   * the background (labProgress follows it). The credentials are in the answer and nowhere else.
   */
  async create(caller: Caller, input: CreateLabInput, requester: Requester): Promise<{ lab: Lab; credentials: Credentials[] }> {
    assertStaff(caller);
    const spec = parseInput(createLabInput, input);
    return this.recorder.action(caller, 'LAB_CREATE', null, { lab: spec.name, students: spec.students.length }, () => this.enrolling.run(async () => {
      const template = spec.template ?? (await this.savedTemplate(spec.templateName!));
      if (await this.store.lab(spec.name)) throw conflict(`A lab named ${spec.name} exists`);
      await this.checkQuota(spec.students.length, spec.students.length);
      await this.checkTemplate(template, requester);
      const createdAt = new Date();
      const entry: LabEntry = {
        name: spec.name,
        template,
        state: 'ACTIVE',
        createdAt,
        expiresAt: new Date(createdAt.getTime() + (spec.ttlSeconds ?? template.ttlSeconds) * 1000),
        creator: caller.actor,
      };
      const { students, tokens, credentials } = this.enrol(spec.name, spec.students);
      await this.store.createLab(entry, students, tokens.map((t) => t.entry));
      this.tokens.setExpiry(entry.name, entry.expiresAt);
      for (const token of tokens) this.tokens.add(token.entry);
      this.scheduleExpiry();
      this.provisionInBackground(entry, students, caller, requester);
      return { lab: toLab(entry), credentials };
    }));
  }

  async addStudents(caller: Caller, labRef: string, input: z.input<typeof roster>, requester: Requester): Promise<Credentials[]> {
    assertStaff(caller);
    const name = parseInput(labName, labRef);
    const additions = parseInput(roster, input);
    return this.recorder.action(caller, 'STUDENT_ADD', null, { lab: name, students: additions.map((s) => s.id) }, () => this.enrolling.run(async () => {
      const lab = await this.activeLab(name);
      const existing = new Set((await this.store.students(name)).map((s) => s.id));
      const repeated = additions.find((s) => existing.has(s.id));
      if (repeated) throw conflict(`The student ${repeated.id} is in the lab ${name} already`);
      await this.checkQuota(existing.size + additions.length, additions.length);
      const { students, tokens, credentials } = this.enrol(name, additions);
      await this.store.addStudents(students, tokens.map((t) => t.entry));
      for (const token of tokens) this.tokens.add(token.entry);
      this.provisionInBackground(lab, students, caller, requester);
      return credentials;
    }));
  }

  /** Removes a student's containers (found by label), then the student and their tokens. */
  async removeStudent(caller: Caller, labRef: string, id: string): Promise<Student> {
    assertStaff(caller);
    const name = parseInput(labName, labRef);
    const studentKey = parseInput(studentId, id);
    return this.recorder.action(caller, 'STUDENT_REMOVE', null, { lab: name, student: studentKey }, async () => {
      const student = await this.student(name, studentKey);
      await this.perStudent.run(keyOf(student), async () => {
        await this.removeContainers(caller, labelSelectorsOf(student));
        await this.store.removeStudent(name, studentKey);
        this.tokens.forget(name, studentKey);
      });
      return toStudent(student, null);
    });
  }

  /**
   * Provisions a student again from the lab's template: a new container replaces theirs (a
   * failed student is retried this way). Their password and tokens stay.
   */
  async resetStudent(caller: Caller, labRef: string, id: string, requester: Requester): Promise<Student> {
    assertStaff(caller);
    const name = parseInput(labName, labRef);
    const studentKey = parseInput(studentId, id);
    return this.recorder.action(caller, 'STUDENT_RESET', null, { lab: name, student: studentKey }, async () => {
      const lab = await this.activeLab(name);
      const student = await this.student(name, studentKey);
      await this.store.setStudentState(name, studentKey, 'PENDING', null);
      const pending = { ...student, state: 'PENDING', reason: null };
      this.provisionInBackground(lab, [pending], caller, requester);
      return toStudent(pending, null);
    });
  }

  async startLab(caller: Caller, labRef: string): Promise<Lab> {
    return this.changeLab(caller, labRef, 'LAB_START', 'ACTIVE', (container) => this.services.containers.start(caller, container));
  }

  async stopLab(caller: Caller, labRef: string): Promise<Lab> {
    return this.changeLab(caller, labRef, 'LAB_STOP', 'STOPPED', (container) => this.services.containers.stop(caller, container));
  }

  /** Moves the end later; an expired lab's containers stay stopped until startLab. */
  async extendLab(caller: Caller, labRef: string, seconds: number): Promise<Lab> {
    assertStaff(caller);
    const name = parseInput(labName, labRef);
    const extra = parseInput(ttlSeconds, seconds);
    return this.recorder.action(caller, 'LAB_EXTEND', null, { lab: name, seconds: extra }, async () => {
      const lab = await this.lab(caller, name);
      const expiresAt = new Date(Math.max(lab.expiresAt.getTime(), Date.now()) + extra * 1000);
      const state: LabState = lab.state === 'EXPIRED' ? 'STOPPED' : lab.state;
      await this.store.setLab(name, { state, expiresAt });
      this.tokens.setExpiry(name, expiresAt);
      this.scheduleExpiry();
      return { ...lab, state, expiresAt };
    });
  }

  async removeLab(caller: Caller, labRef: string): Promise<Lab> {
    assertStaff(caller);
    const name = parseInput(labName, labRef);
    return this.recorder.action(caller, 'LAB_REMOVE', null, { lab: name }, async () => {
      const lab = await this.lab(caller, name);
      await this.remove(caller, name);
      return lab;
    });
  }

  async issueToken(caller: Caller, labRef: string, id: string): Promise<{ token: string; info: TokenInfo }> {
    assertStaff(caller);
    const name = parseInput(labName, labRef);
    const studentKey = parseInput(studentId, id);
    return this.recorder.action(caller, 'TOKEN_ISSUE', null, { lab: name, student: studentKey }, async () => {
      await this.student(name, studentKey);
      const minted = this.tokens.mint(name, studentKey);
      await this.store.addToken(minted.entry);
      this.tokens.add(minted.entry);
      return { token: minted.secret, info: toTokenInfo(minted.entry) };
    });
  }

  async revokeToken(caller: Caller, id: string): Promise<TokenInfo> {
    assertStaff(caller);
    const tokenId = parseInput(z.string().min(1).max(128), id);
    return this.recorder.action(caller, 'TOKEN_REVOKE', null, { token: tokenId }, async () => {
      const token = (await this.store.tokens()).find((t) => t.id === tokenId);
      if (!token) throw notFound(`No such token: ${tokenId}`);
      if (token.revokedAt) return toTokenInfo(token);
      const revokedAt = new Date();
      await this.store.revokeToken(tokenId, revokedAt);
      this.tokens.revoke(tokenId, revokedAt);
      return toTokenInfo({ ...token, revokedAt });
    });
  }

  async labs(caller: Caller): Promise<Lab[]> {
    assertStaff(caller);
    return (await this.store.labs()).map(toLab);
  }

  async lab(caller: Caller, labRef: string): Promise<Lab> {
    assertStaff(caller);
    const name = parseInput(labName, labRef);
    const lab = await this.store.lab(name);
    if (!lab) throw notFound(`No such lab: ${name}`);
    return toLab(lab);
  }

  async students(labRef: string): Promise<Student[]> {
    return (await this.store.students(labRef)).map((s) => toStudent(s, this.steps.get(keyOf(s)) ?? null));
  }

  async studentTokens(labRef: string, id: string): Promise<TokenInfo[]> {
    return (await this.store.tokens(labRef)).filter((t) => t.student === id).map(toTokenInfo);
  }

  /**
   * Each student's state as provisioning goes: first where every student is now, then each
   * change as it happens. Ends once no student is waiting or being provisioned.
   */
  async progress(caller: Caller, labRef: string): Promise<AsyncIterable<Student | StreamGap>> {
    const lab = await this.lab(caller, labRef);
    return createSubscriber(PROGRESS_QUEUE, async (sink) => {
      let followers = this.followers.get(lab.name);
      if (!followers) this.followers.set(lab.name, (followers = new Set()));
      followers.add(sink);
      const students = await this.students(lab.name);
      for (const student of students) sink.push(student);
      if (!students.some((s) => UNSETTLED.includes(s.state))) sink.end();
      return () => {
        followers.delete(sink);
        if (!followers.size && this.followers.get(lab.name) === followers) this.followers.delete(lab.name);
      };
    });
  }

  /**
   * Runs a check in every ready student's container, as many at once as MAX_WORKERS, and
   * streams each student's result as it comes; each run is a stored execution.
   */
  async runCheck(caller: Caller, labRef: string, input: z.input<typeof checkInput>): Promise<AsyncIterable<CheckResult | StreamGap>> {
    const lab = await this.lab(caller, labRef);
    const spec = parseInput(checkInput, input);
    const students = (await this.students(lab.name)).filter((s) => s.state === 'READY');
    await this.recorder.record(caller, 'CHECK_RUN', null, 'ok', { lab: lab.name, students: students.length });
    return createSubscriber(CHECK_QUEUE, (sink) => {
      const cancel = new AbortController();
      const checkOne = async (student: Student) => {
        const result = await this.services.exec.run(caller, student.containerName, spec, cancel.signal).then(
          (execution): CheckResult => ({ student: student.id, execution, error: null }),
          (error: unknown): CheckResult => ({ student: student.id, execution: null, error: fromEngineError(error) }),
        );
        sink.push(result);
      };
      void Promise.all(students.map((student) => this.workers.run(() => (cancel.signal.aborted ? Promise.resolve() : checkOne(student))))).then(() => sink.end());
      return () => cancel.abort();
    });
  }

  /**
   * The whole class every `intervalMs`, in one message: each student's state, container, CPU,
   * memory and last activity (terminal typing and output count, though no record is kept of
   * each). One shared stats stream per running container, through the stats hub.
   */
  async status(caller: Caller, labRef: string, input: z.input<typeof statusInput>): Promise<AsyncIterable<LabStatus | StreamGap>> {
    const lab = await this.lab(caller, labRef);
    const { intervalMs } = parseInput(statusInput, input);
    return createSubscriber(STATUS_QUEUE, (sink) => {
      const samples = new Map<string, StatsSample>();
      /** How to stop each container's stats feed, by container ID. */
      const feeds = new Map<string, AbortController>();
      const follow = (container: ContainerModel) => {
        if (feeds.has(container.id)) return;
        const stop = new AbortController();
        feeds.set(container.id, stop);
        void (async () => {
          const feed = (await this.services.stats.followStats(toLiveTarget(container), { intervalMs: 1000 }))[Symbol.asyncIterator]();
          if (stop.signal.aborted) return void (await feed.return?.());
          stop.signal.addEventListener('abort', () => void feed.return?.(), { once: true });
          for (let next = await feed.next(); !next.done; next = await feed.next()) {
            if (next.value.kind === 'stats') samples.set(container.id, next.value);
          }
        })()
          .catch(() => undefined)
          .finally(() => feeds.get(container.id) === stop && feeds.delete(container.id));
      };
      const unfollow = (id: string) => {
        feeds.get(id)?.abort();
        feeds.delete(id);
        samples.delete(id);
      };
      const tick = async () => {
        const at = new Date();
        const [students, containers] = await Promise.all([this.store.students(lab.name), this.services.containers.list({ labels: [`${LAB_LABEL}=${lab.name}`] })]);
        const running = containers.filter((c) => c.state === 'RUNNING');
        for (const container of running) follow(container);
        for (const id of feeds.keys()) if (!running.some((c) => c.id === id)) unfollow(id);
        const byName = new Map(containers.map((c) => [c.name, c]));
        const status = await Promise.all(
          students.map(async (student): Promise<StudentStatus> => {
            const container = byName.get(containerNameOf(student)) ?? null;
            const sample = container ? samples.get(container.id) : undefined;
            const lastActivity = container ? await this.recorder.lastActivity(caller, container).catch(() => null) : null;
            const screen = container ? await this.services.terminals.screenOf(container.id) : null;
            return {
              id: student.id,
              displayName: student.displayName,
              state: student.state as StudentState,
              container,
              cpuPercent: sample?.cpuPercent ?? null,
              memoryUsedBytes: sample?.memoryUsedBytes ?? null,
              memoryLimitBytes: sample?.memoryLimitBytes ?? null,
              lastActivity,
              screen,
            };
          }),
        );
        sink.push({ lab: lab.name, at, students: status });
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
        for (const id of [...feeds.keys()]) unfollow(id);
      };
    });
  }

  private async savedTemplate(name: string): Promise<LabTemplate> {
    const saved = await this.store.template(name);
    if (!saved) throw notFound(`No such lab template: ${name}`);
    return parseInput(labTemplate, saved.spec);
  }

  /** The template's container as `create` would take it, for a student named like the longest id. */
  private async checkTemplate(template: LabTemplate, requester: Requester): Promise<void> {
    await this.services.containers.check(planFor(template, { lab: 'lab', id: 'student' }).container, requester);
  }

  private async checkQuota(labStudents: number, added: number): Promise<void> {
    if (labStudents > this.limits.maxStudents) throw badInput(`A lab may have at most ${this.limits.maxStudents} students (MAX_LAB_STUDENTS)`);
    const total = (await this.store.countStudents()) + added;
    if (total > this.limits.maxStudentsTotal) {
      throw badInput(`The labs of this server may have at most ${this.limits.maxStudentsTotal} students together (MAX_LAB_CONTAINERS); ${total} asked`);
    }
  }

  /** New students with their password hashes and tokens, and the credentials to hand out. */
  private enrol(lab: string, roster: Array<{ id: string; displayName: string }>) {
    const addedAt = new Date();
    const enrolled = roster.map(({ id, displayName }) => {
      const password = generatePassword();
      const token = this.tokens.mint(lab, id);
      const student: StudentEntry = { lab, id, displayName, passwordHash: sha512Crypt(password), state: 'PENDING', reason: null, addedAt };
      return { student, token, credentials: { student: id, displayName, password, token: token.secret, tokenId: token.entry.id } };
    });
    return { students: enrolled.map((e) => e.student), tokens: enrolled.map((e) => e.token), credentials: enrolled.map((e) => e.credentials) };
  }

  private async activeLab(name: string): Promise<LabEntry> {
    const lab = await this.store.lab(name);
    if (!lab) throw notFound(`No such lab: ${name}`);
    if (lab.state === 'EXPIRED') throw conflict(`The lab ${name} has expired; extend it first`);
    return lab;
  }

  private async student(lab: string, id: string): Promise<StudentEntry> {
    if (!(await this.store.lab(lab))) throw notFound(`No such lab: ${lab}`);
    const student = (await this.store.students(lab)).find((s) => s.id === id);
    if (!student) throw notFound(`No such student in the lab ${lab}: ${id}`);
    return student;
  }

  private async changeLab(caller: Caller, labRef: string, kind: ActivityKind, state: LabState, act: (container: string) => Promise<unknown>): Promise<Lab> {
    assertStaff(caller);
    const name = parseInput(labName, labRef);
    return this.recorder.action(caller, kind, null, { lab: name }, async () => {
      const lab = await this.activeLab(name);
      const containers = await this.services.containers.list({ labels: [`${LAB_LABEL}=${name}`] });
      const failures: string[] = [];
      await Promise.all(
        containers.map((c) => this.workers.run(() => act(c.id).catch((error: unknown) => void failures.push(`${c.name}: ${fromEngineError(error).message}`)))),
      );
      await this.store.setLab(name, { state });
      if (failures.length) throw conflict(`The lab is ${state.toLowerCase()}, but not every container: ${failures.join('; ')}`);
      return toLab({ ...lab, state });
    });
  }

  private provisionInBackground(lab: LabEntry, students: StudentEntry[], caller: Caller, requester: Requester): void {
    let running = this.inFlight.get(lab.name);
    if (!running) this.inFlight.set(lab.name, (running = new Set()));
    for (const student of students) {
      const done = this.perStudent.run(keyOf(student), () => this.workers.run(() => this.provision(lab, student, caller, requester)));
      running.add(done);
      void done.finally(() => {
        running.delete(done);
        if (!running.size && this.inFlight.get(lab.name) === running) this.inFlight.delete(lab.name);
      });
    }
  }

  /**
   * Provisions one student from scratch: whatever container they had is removed first, so
   * running it again (a retry, a reset, a resumed start) converges to the same result.
   */
  private async provision(lab: LabEntry, student: StudentEntry, caller: Caller, requester: Requester): Promise<void> {
    if (this.stopping || this.removing.has(lab.name)) return;
    const key = keyOf(student);
    const plan = planFor(parseInput(labTemplate, lab.template), student);
    const step = async (name: ProvisionStep) => {
      if (this.removing.has(lab.name)) throw conflict(`The lab ${lab.name} is being removed`);
      this.steps.set(key, name);
      // The store needs to know only that provisioning began (a restart resumes it); its steps are live news.
      if (name === 'CONTAINER') await this.changed(student, 'PROVISIONING', null);
      else this.announce(student, 'PROVISIONING', null);
    };
    try {
      await step('CONTAINER');
      await this.removeContainers(caller, labelSelectorsOf(student));
      const container = await this.services.containers.create(caller, plan.container, requester);
      await step('ACCOUNTS');
      const [own, ...fixed] = plan.accounts;
      const accounts = new Map([['root', { uid: 0, gid: 0 }]]);
      const created = [await this.services.users.add(caller, container.id, own!, student.passwordHash)];
      for (const account of fixed) created.push(await this.services.users.add(caller, container.id, account));
      for (const user of created) accounts.set(user.username, user);
      await step('FILES');
      for (const file of plan.files) await this.services.files.write(caller, container.id, { ...file, owner: file.owner && numericOwner(file.owner, accounts) });
      await step('SETUP');
      for (const [index, command] of plan.setup.entries()) {
        const run = await this.services.exec.run(caller, container.id, command);
        if (run.exitCode !== 0) {
          const output = run.output.trim().slice(-500);
          throw conflict(`Setup command ${index + 1} exited with ${run.exitCode ?? 'no code'}${output ? `: ${output}` : ''}`);
        }
      }
      this.steps.delete(key);
      await this.changed(student, 'READY', null);
    } catch (error) {
      this.steps.delete(key);
      // Cut short by the server stopping: the next start provisions it again. Or its lab is going.
      if (this.stopping || this.removing.has(lab.name)) return;
      const reason = fromEngineError(error).message;
      this.logger.warn({ lab: student.lab, student: student.id, reason }, 'lab: provisioning a student failed');
      await this.changed(student, 'FAILED', reason).catch((stored: unknown) => this.logger.error({ err: stored }, 'lab: could not record a failed student'));
    }
  }

  /** Stores a student's new state and tells those following the lab; they are done once every student has settled. */
  private async changed(student: StudentEntry, state: StudentState, reason: string | null): Promise<void> {
    await this.store.setStudentState(student.lab, student.id, state, reason);
    const followers = this.announce(student, state, reason);
    if (followers?.size && (state === 'READY' || state === 'FAILED')) {
      const settled = !(await this.store.students(student.lab)).some((s) => UNSETTLED.includes(s.state as StudentState));
      if (settled) for (const sink of followers) sink.end();
    }
  }

  private announce(student: StudentEntry, state: StudentState, reason: string | null) {
    const followers = this.followers.get(student.lab);
    const now = toStudent({ ...student, state, reason }, this.steps.get(keyOf(student)) ?? null);
    for (const sink of followers ?? []) sink.push(now);
    return followers;
  }

  private async removeContainers(caller: Caller, labels: string[]): Promise<void> {
    for (const container of await this.services.containers.list({ labels })) {
      await this.services.containers.remove(caller, container.id, true).catch((error: unknown) => {
        // Gone meanwhile is what was wanted.
        if (!(error instanceof AppError && error.code === 'NOT_FOUND')) throw error;
      });
    }
  }

  /** Every container of the lab, found by label (so none is left behind), then the lab itself. */
  private async remove(caller: Caller, name: string): Promise<void> {
    this.removing.add(name);
    try {
      // Provisioning in flight would create a container after the sweep: it stops first.
      await Promise.allSettled([...(this.inFlight.get(name) ?? [])]);
      await this.removeContainers(caller, [`${LAB_LABEL}=${name}`]);
      await this.store.removeLab(name);
      this.tokens.forget(name);
    } finally {
      this.removing.delete(name);
    }
    this.scheduleExpiry();
  }

  /** The next time a lab expires or its grace period ends; checked again at least every minute. */
  private scheduleExpiry(): void {
    clearTimeout(this.expiryTimer);
    if (this.stopping) return;
    void this.store.labs().then(
      (labs) => {
        const due = labs.map((lab) => lab.expiresAt.getTime() + (lab.state === 'EXPIRED' ? this.limits.gracePeriodMs : 0));
        const wait = Math.min(60_000, ...due.map((at) => Math.max(0, at - Date.now())));
        clearTimeout(this.expiryTimer);
        if (!this.stopping) this.expiryTimer = setTimeout(() => void this.expire(), wait).unref();
      },
      (error: unknown) => {
        this.logger.error({ err: error }, 'lab expiry: cannot read the labs; trying again in a minute');
        this.expiryTimer = setTimeout(() => this.scheduleExpiry(), 60_000).unref();
      },
    );
  }

  /** Stops the labs past their end, and removes those past their grace period too. */
  private async expire(): Promise<void> {
    try {
      const now = Date.now();
      for (const lab of await this.store.labs()) {
        if (this.stopping) return;
        const end = lab.expiresAt.getTime();
        if (lab.state === 'EXPIRED' && end + this.limits.gracePeriodMs <= now) {
          await this.recorder.action(SERVER, 'LAB_REMOVE', null, { lab: lab.name, expired: true }, () => this.remove(SERVER, lab.name));
        } else if (lab.state !== 'EXPIRED' && end <= now) {
          await this.recorder.action(SERVER, 'LAB_EXPIRE', null, { lab: lab.name }, async () => {
            const containers = await this.services.containers.list({ labels: [`${LAB_LABEL}=${lab.name}`] });
            await Promise.all(containers.map((c) => this.workers.run(() => this.services.containers.stop(SERVER, c.id))));
            await this.store.setLab(lab.name, { state: 'EXPIRED' });
          });
        }
      }
    } catch (error) {
      this.logger.error({ err: error }, 'lab expiry failed; trying again');
    }
    this.scheduleExpiry();
  }
}

/** Labs span many containers: only a token that sees every container manages them. */
function assertStaff(caller: Caller): void {
  if (caller.scoped) throw forbidden('Labs are managed with a token that has no container scope');
}

/**
 * An owner whose user is one provisioning just made (or root) as its numbers, so writing the
 * file need not read the account files again; any other stays as it is, for the file service to resolve.
 */
function numericOwner(owner: string, accounts: ReadonlyMap<string, { uid: number; gid: number }>): string {
  const [user, group] = owner.split(':') as [string, string | undefined];
  const known = accounts.get(user);
  if (!known) return owner;
  return `${known.uid}:${group ?? known.gid}`;
}

const keyOf = (student: { lab: string; id: string }) => `${student.lab}/${student.id}`;

/** Provisioning resumed after a restart acts as the lab's creator did. */
const creatorOf = (lab: LabEntry): Caller => ({ actor: lab.creator, scoped: false, inScope: () => true });
const requesterOf = (lab: LabEntry): Requester => ({ admin: lab.creator.role === 'admin', scope: null });

const toLab = (entry: LabEntry): Lab => ({
  name: entry.name,
  template: entry.template as LabTemplate,
  state: entry.state as LabState,
  createdAt: entry.createdAt,
  expiresAt: entry.expiresAt,
});

const toStudent = (entry: Pick<StudentEntry, 'lab' | 'id' | 'displayName' | 'state' | 'reason'>, step: ProvisionStep | null): Student => ({
  lab: entry.lab,
  id: entry.id,
  displayName: entry.displayName,
  state: entry.state as StudentState,
  reason: entry.reason,
  step,
  containerName: containerNameOf(entry),
});

const toTokenInfo = (t: TokenInfo): TokenInfo => ({ id: t.id, lab: t.lab, student: t.student, createdAt: t.createdAt, revokedAt: t.revokedAt });
