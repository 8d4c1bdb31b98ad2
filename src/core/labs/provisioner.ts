import type { Logger } from 'pino';
import { AppError, conflict, fromEngineError } from '../../errors.js';
import type { LabEntry, LabStore, StudentEntry } from '../../store/labs.js';
import type { StreamGap } from '../../streams/gap.js';
import { createSubscriber, type QueueLimits, type Sink } from '../../streams/subscriber.js';
import type { Caller } from '../caller.js';
import type { ContainerService } from '../containers.js';
import type { ExecService } from '../exec.js';
import type { FileService } from '../files.js';
import { KeyedMutex } from '../keyed-mutex.js';
import type { Limiter } from '../limiter.js';
import type { Requester } from '../policy.js';
import type { UserService } from '../users.js';
import { parseInput } from '../validation.js';
import { isUnsettled, keyOf, toStudent, type ProvisionStep, type Student, type StudentState } from './model.js';
import { LAB_LABEL, labTemplate, labelSelectorsOf, planFor } from './template.js';

const PROGRESS_QUEUE: QueueLimits<Student | StreamGap> = { maxItems: 10_000, gap: (missed) => ({ kind: 'gap', missed, resumeCursor: null }) };

export interface ProvisioningServices {
  containers: ContainerService;
  users: UserService;
  files: FileService;
  exec: ExecService;
}

/**
 * Makes each student's container from their lab's template, in the background and as many at
 * once as the shared workers allow, and tells those following a lab each step. Provisioning
 * starts by removing whatever the student had, so running it again (a retry, a reset, a start
 * after a restart) converges; one student's failure is theirs alone.
 */
export class Provisioner {
  /** One provisioning or removal at a time per student. */
  private readonly perStudent = new KeyedMutex();
  /** The step of each student being provisioned, by `lab/student`. */
  private readonly steps = new Map<string, ProvisionStep>();
  private readonly followers = new Map<string, Set<Sink<Student | StreamGap>>>();
  /** Provisioning in flight, by lab: a lab's removal waits for its own. */
  private readonly inFlight = new Map<string, Set<Promise<void>>>();
  /** Labs being removed: their provisioning stops at its next step. */
  private readonly removing = new Set<string>();
  /** Set when the server stops: provisioning cut short stays unsettled, to resume at the next start. */
  private stopping = false;

  constructor(
    private readonly store: LabStore,
    private readonly services: ProvisioningServices,
    private readonly workers: Limiter,
    private readonly logger: Logger,
  ) {}

  /** Provisions students in the background, acting as `caller`. */
  provision(lab: LabEntry, students: StudentEntry[], caller: Caller, requester: Requester): void {
    let running = this.inFlight.get(lab.name);
    if (!running) this.inFlight.set(lab.name, (running = new Set()));
    for (const student of students) {
      const done = this.perStudent.run(keyOf(student), () => this.workers.run(() => this.provisionOne(lab, student, caller, requester)));
      running.add(done);
      void done.finally(() => {
        running.delete(done);
        if (!running.size && this.inFlight.get(lab.name) === running) this.inFlight.delete(lab.name);
      });
    }
  }

  /** The step a student is at, while being provisioned. */
  stepOf(student: { lab: string; id: string }): ProvisionStep | null {
    return this.steps.get(keyOf(student)) ?? null;
  }

  /**
   * Each student's state as provisioning goes: first where every student is now, then each
   * change as it happens. Ends once no student is waiting or being provisioned.
   */
  follow(lab: string): AsyncIterable<Student | StreamGap> {
    return createSubscriber(PROGRESS_QUEUE, async (sink) => {
      let followers = this.followers.get(lab);
      if (!followers) this.followers.set(lab, (followers = new Set()));
      followers.add(sink);
      const students = await this.store.students(lab);
      for (const student of students) sink.push(toStudent(student, this.stepOf(student)));
      if (!students.some((s) => isUnsettled(s.state))) sink.end();
      return () => {
        followers.delete(sink);
        if (!followers.size && this.followers.get(lab) === followers) this.followers.delete(lab);
      };
    });
  }

  /** Removes a student's containers and then runs `forget`, after any provisioning of theirs. */
  async removeStudent(caller: Caller, student: StudentEntry, forget: () => Promise<void>): Promise<void> {
    await this.perStudent.run(keyOf(student), async () => {
      await this.removeContainers(caller, labelSelectorsOf(student));
      await forget();
    });
  }

  /**
   * Removes every container of the lab, found by label so none is left behind, and then runs
   * `forget`. Provisioning in flight would create a container after the sweep: it stops first.
   */
  async removeLab(caller: Caller, lab: string, forget: () => Promise<void>): Promise<void> {
    this.removing.add(lab);
    try {
      await Promise.allSettled([...(this.inFlight.get(lab) ?? [])]);
      await this.removeContainers(caller, [`${LAB_LABEL}=${lab}`]);
      await forget();
    } finally {
      this.removing.delete(lab);
    }
  }

  /** Waits for provisioning in flight to wind down (the pool refuses its next steps), and ends every follower. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.allSettled([...this.inFlight.values()].flatMap((running) => [...running]));
    for (const sinks of this.followers.values()) for (const sink of sinks) sink.end();
  }

  private async provisionOne(lab: LabEntry, student: StudentEntry, caller: Caller, requester: Requester): Promise<void> {
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
    if (followers?.size && !isUnsettled(state)) {
      const settled = !(await this.store.students(student.lab)).some((s) => isUnsettled(s.state));
      if (settled) for (const sink of followers) sink.end();
    }
  }

  private announce(student: StudentEntry, state: StudentState, reason: string | null) {
    const followers = this.followers.get(student.lab);
    const now = toStudent({ ...student, state, reason }, this.stepOf(student));
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
