import { z } from 'zod';
import { MAX_EXEC_TIMEOUT_SECONDS } from '../exec.js';
import { writeFileInput, type WriteFileInput } from '../files.js';
import type { CreateContainerInput } from '../containers.js';
import type { AddUserInput } from '../users.js';
import { accountName, accountPath, argv, envName, envValue, fileMode, imageRef, processUser } from '../validation.js';

/** Labels that tie a container to its lab and student: how containers are found again, after a restart too. */
export const LAB_LABEL = 'podgraph.lab';
export const STUDENT_LABEL = 'podgraph.student';

/** Stands for the student's id in a template file's path, owner and content. */
export const STUDENT_PLACEHOLDER = '{student}';

/** Short enough that `lab-student` is a container name; no character a label, a name or a shell treats specially. */
export const labName = z
  .string()
  .min(1)
  .max(40)
  .regex(/^[a-z0-9][a-z0-9-]*$/, 'must start with a lowercase letter or digit and use only [a-z0-9-]');

/** A student id is also their account name and part of their container's name. */
export const studentId = z
  .string()
  .min(1)
  .max(32)
  .regex(/^[a-z_][a-z0-9_-]*$/, 'must start with a lowercase letter or "_" and use only [a-z0-9_-]');

export const templateName = labName;

const templateAccount = z.object({
  username: accountName,
  shell: accountPath.default('/bin/sh'),
  groups: z.array(accountName).max(64).default([]),
  home: accountPath.optional(),
});

const templateFile = z.object({
  path: z.string().min(1).max(4096),
  content: z.string().max(16 * 1024 * 1024),
  encoding: z.enum(['UTF8', 'BASE64']).default('UTF8'),
  mode: fileMode.default(0o644),
  owner: z.string().max(65).optional(),
});

const setupCommand = z.object({
  /** A string runs through `/bin/sh -c`, with the student's id in $STUDENT and the lab's name in $LAB. */
  command: z.union([z.string().min(1).max(64 * 1024), argv]),
  user: processUser.default('0'),
  timeoutSeconds: z.number().positive().max(MAX_EXEC_TIMEOUT_SECONDS).optional(),
});

/** Three hours: a class. */
const DEFAULT_TTL_SECONDS = 3 * 3600;
export const MAX_TTL_SECONDS = 30 * 24 * 3600;
export const ttlSeconds = z.number().int().min(1).max(MAX_TTL_SECONDS);

/**
 * What every student's container is made from. Validated whole before anything is created: the
 * files as they will be written for a student, the container by the policy and the engine.
 */
export const labTemplate = z
  .object({
    image: imageRef,
    command: z.union([z.string().min(1).max(64 * 1024), argv]).optional(),
    env: z.record(envName, envValue).default({}),
    memoryBytes: z.number().int().positive().optional(),
    cpus: z.number().positive().optional(),
    pidsLimit: z.number().int().positive().optional(),
    /** The student's own account: its name is the student's id, its password generated. */
    studentAccount: templateAccount.omit({ username: true }).default({ shell: '/bin/sh', groups: [] }),
    /** Further accounts every container has, without a password. */
    accounts: z.array(templateAccount).max(32).default([]),
    files: z.array(templateFile).max(100).default([]),
    setup: z.array(setupCommand).max(32).default([]),
    ttlSeconds: ttlSeconds.default(DEFAULT_TTL_SECONDS),
  })
  .superRefine((template, ctx) => {
    for (const [index, file] of template.files.entries()) {
      const parsed = writeFileInput.safeParse(fileFor(file, 'student'));
      for (const issue of parsed.error?.issues ?? []) ctx.addIssue({ code: 'custom', path: ['files', index, ...issue.path.map(String)], message: issue.message });
    }
    const names = [...template.accounts.map((a) => a.username)];
    if (new Set(names).size !== names.length) ctx.addIssue({ code: 'custom', path: ['accounts'], message: 'an account is listed twice' });
  });
export type LabTemplate = z.output<typeof labTemplate>;
export type LabTemplateInput = z.input<typeof labTemplate>;

export interface LabStudent {
  lab: string;
  id: string;
}

export const containerNameOf = (student: LabStudent) => `${student.lab}-${student.id}`;
export const labelsOf = (student: LabStudent) => ({ [LAB_LABEL]: student.lab, [STUDENT_LABEL]: student.id });
export const labelSelectorsOf = (student: LabStudent) => Object.entries(labelsOf(student)).map(([k, v]) => `${k}=${v}`);

const forStudent = (text: string, id: string) => text.replaceAll(STUDENT_PLACEHOLDER, id);

function fileFor(file: z.output<typeof templateFile>, id: string): WriteFileInput {
  return {
    path: forStudent(file.path, id),
    content: forStudent(file.content, id),
    encoding: file.encoding,
    mode: file.mode,
    owner: file.owner === undefined ? undefined : forStudent(file.owner, id),
    createParents: true,
  };
}

/** Everything one student's container is provisioned with, from the template. */
export function planFor(template: LabTemplate, student: LabStudent) {
  const container: CreateContainerInput = {
    image: template.image,
    name: containerNameOf(student),
    command: template.command,
    env: template.env,
    labels: labelsOf(student),
    memoryBytes: template.memoryBytes,
    cpus: template.cpus,
    pidsLimit: template.pidsLimit,
    init: true,
  };
  const accounts: AddUserInput[] = [{ username: student.id, ...template.studentAccount }, ...template.accounts];
  const files = template.files.map((file) => fileFor(file, student.id));
  const setup = template.setup.map((step) => ({
    command: step.command,
    user: step.user,
    timeoutSeconds: step.timeoutSeconds,
    env: { LAB: student.lab, STUDENT: student.id },
  }));
  return { container, accounts, files, setup };
}
