import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { z } from 'zod';
import { AppError, badInput, conflict, forbidden, fromEngineError, notFound } from '../../errors.js';
import type { LabEntry, LabStore, SavedTemplate, StudentEntry } from '../../store/labs.js';
import type { StreamGap } from '../../streams/gap.js';
import { createSubscriber, type QueueLimits } from '../../streams/subscriber.js';
import type { ActivityKind, Recorder } from '../activity.js';
import type { Caller } from '../caller.js';
import type { Execution } from '../exec.js';
import { Limiter } from '../limiter.js';
import type { Requester } from '../policy.js';
import { sha512Crypt } from '../shacrypt.js';
import type { StatsService } from '../stats.js';
import type { TerminalService } from '../terminals.js';
import { argv, parseInput, processUser } from '../validation.js';
import { UNSETTLED, toLab, toStudent, toTokenInfo, type Lab, type LabState, type Student, type TokenInfo } from './model.js';
import { Provisioner, type ProvisioningServices } from './provisioner.js';
import { followLabStatus, lastActivityIn, type LabStatus, type statusInput } from './status.js';
import { LAB_LABEL, labName, labTemplate, planFor, studentId, templateName, ttlSeconds, type LabTemplate, type LabTemplateInput } from './template.js';
import type { StudentTokens } from './tokens.js';

/** What a student is handed, once: the password of their account and their token. */
export interface Credentials {
  student: string;
  displayName: string;
  password: string;
  token: string;
  tokenId: string;
}

export interface CheckResult {
  student: string;
  execution: Execution | null;
  /** Why the check could not run in this student's container. */
  error: AppError | null;
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

const CHECK_QUEUE: QueueLimits<CheckResult | StreamGap> = { maxItems: 10_000, gap: (missed) => ({ kind: 'gap', missed, resumeCursor: null }) };

/** An alphabet without look-alikes (no 0/O, 1/l/I): a password on paper is copied without mistakes. */
const PASSWORD_ALPHABET = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
/** 12 of its 56 characters: about 70 bits. */
const PASSWORD_LENGTH = 12;

function generatePassword(): string {
  // Bytes past the last whole multiple of the alphabet's size are skipped, so every character is equally likely.
  const limit = 256 - (256 % PASSWORD_ALPHABET.length);
  const chars: string[] = [];
  while (chars.length < PASSWORD_LENGTH) {
    for (const byte of randomBytes(16)) if (byte < limit && chars.length < PASSWORD_LENGTH) chars.push(PASSWORD_ALPHABET[byte % PASSWORD_ALPHABET.length]!);
  }
  return chars.join('');
}

/** Who acts when the server itself does something to a lab: expiry. */
const SERVER: Caller = { actor: { tokenId: 'podgraph', role: 'admin' }, scoped: false, inScope: () => true };

interface Services extends ProvisioningServices {
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
  /** Students provisioned, checks run and containers started or stopped, at once: MAX_WORKERS. */
  private readonly workers: Limiter;
  private readonly provisioner: Provisioner;
  /** Enrolments one at a time, so two at once cannot both pass the name and quota checks. */
  private readonly enrolling = new Limiter(1);
  private expiryTimer: NodeJS.Timeout | undefined;
  /** Set when the server stops: expiry is not scheduled again. */
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
    this.provisioner = new Provisioner(store, services, this.workers, logger);
  }

  /** Loads the tokens, resumes provisioning a stop cut short, and schedules expiry. */
  async start(): Promise<void> {
    const labs = new Map((await this.store.labs()).map((lab) => [lab.name, lab]));
    for (const lab of labs.values()) this.tokens.setExpiry(lab.name, lab.expiresAt);
    for (const token of await this.store.tokens()) this.tokens.add(token);
    for (const student of await this.store.unsettledStudents(UNSETTLED)) {
      const lab = labs.get(student.lab);
      if (lab) this.provisioner.provision(lab, [student], creatorOf(lab), requesterOf(lab));
    }
    this.scheduleExpiry();
  }

  /** Stops expiry and waits for provisioning in flight to wind down (the pool refuses its next steps). */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.expiryTimer);
    await this.provisioner.stop();
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
      this.provisioner.provision(entry, students, caller, requester);
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
      this.provisioner.provision(lab, students, caller, requester);
      return credentials;
    }));
  }

  /** Removes a student's containers (found by label), then the student and their tokens. */
  async removeStudent(caller: Caller, labRef: string, id: string): Promise<Student> {
    return this.onStudent(caller, 'STUDENT_REMOVE', labRef, id, async (name, studentKey) => {
      const student = await this.student(name, studentKey);
      await this.provisioner.removeStudent(caller, student, async () => {
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
    return this.onStudent(caller, 'STUDENT_RESET', labRef, id, async (name, studentKey) => {
      const lab = await this.activeLab(name);
      const student = await this.student(name, studentKey);
      await this.store.setStudentState(name, studentKey, 'PENDING', null);
      const pending = { ...student, state: 'PENDING', reason: null };
      this.provisioner.provision(lab, [pending], caller, requester);
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
    return this.onStudent(caller, 'TOKEN_ISSUE', labRef, id, async (name, studentKey) => {
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
      const token = await this.store.token(tokenId);
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
    return (await this.store.students(labRef)).map((s) => toStudent(s, this.provisioner.stepOf(s)));
  }

  async studentTokens(labRef: string, id: string): Promise<TokenInfo[]> {
    return (await this.store.tokens({ lab: labRef, id })).map(toTokenInfo);
  }

  /**
   * Each student's state as provisioning goes: first where every student is now, then each
   * change as it happens. Ends once no student is waiting or being provisioned.
   */
  async progress(caller: Caller, labRef: string): Promise<AsyncIterable<Student | StreamGap>> {
    const lab = await this.lab(caller, labRef);
    return this.provisioner.follow(lab.name);
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

  /** When anything last happened in a student's container (status.ts). */
  async lastActivity(caller: Caller, container: { id: string; name: string }): Promise<Date | null> {
    return lastActivityIn({ recorder: this.recorder, terminals: this.services.terminals }, caller, container);
  }

  /** The whole class every `intervalMs`, in one message (status.ts). */
  async status(caller: Caller, labRef: string, input: z.input<typeof statusInput>): Promise<AsyncIterable<LabStatus | StreamGap>> {
    const lab = await this.lab(caller, labRef);
    const { store, recorder } = this;
    const { containers, stats, terminals } = this.services;
    return followLabStatus({ store, recorder, containers, stats, terminals }, caller, lab.name, input);
  }

  /** A staff action on one student: checked, its references validated, and recorded, alike. */
  private onStudent<R>(caller: Caller, kind: ActivityKind, labRef: string, id: string, act: (lab: string, student: string) => Promise<R>): Promise<R> {
    assertStaff(caller);
    const lab = parseInput(labName, labRef);
    const student = parseInput(studentId, id);
    return this.recorder.action(caller, kind, null, { lab, student }, () => act(lab, student));
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
    const student = await this.store.student(lab, id);
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

  /** Every container of the lab, then the lab, its students and tokens. */
  private async remove(caller: Caller, name: string): Promise<void> {
    await this.provisioner.removeLab(caller, name, async () => {
      await this.store.removeLab(name);
      this.tokens.forget(name);
    });
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

/** Provisioning resumed after a restart acts as the lab's creator did. */
const creatorOf = (lab: LabEntry): Caller => ({ actor: lab.creator, scoped: false, inScope: () => true });
const requesterOf = (lab: LabEntry): Requester => ({ admin: lab.creator.role === 'admin', scope: null });
