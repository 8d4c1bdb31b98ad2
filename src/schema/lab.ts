import { LAB_STATES, PROVISION_STEPS, STUDENT_STATES, type Lab, type Student, type TokenInfo } from '../core/labs/model.js';
import type { CheckResult, Credentials } from '../core/labs/service.js';
import type { LabStatus, StudentStatus } from '../core/labs/status.js';
import type { LabTemplate, LabTemplateInput } from '../core/labs/template.js';
import { AppError } from '../errors.js';
import type { SavedTemplate } from '../store/labs.js';
import type { StreamGap } from '../streams/gap.js';
import { builder } from './builder.js';
import { ContainerRef, KeyValueInput, pickCommand, stripNulls, toRecord } from './container.js';
import type { Context } from './context.js';
import { ExecutionRef } from './execution.js';
import { FileEncodingEnum } from './file.js';
import { DateTimeScalar, FileModeScalar } from './scalars.js';
import { StreamGapRef } from './stream.js';

const LabStateEnum = builder.enumType('LabState', {
  values: LAB_STATES,
  description: 'ACTIVE: running (or provisioning); STOPPED: stopped by stopLab or extended after expiry; EXPIRED: past its end, containers stopped, removed after LAB_GRACE_PERIOD.',
});
const StudentStateEnum = builder.enumType('StudentState', { values: STUDENT_STATES });
const ProvisionStepEnum = builder.enumType('ProvisionStep', { values: PROVISION_STEPS });

type Template = LabTemplate;
type TemplateAccount = Template['accounts'][number];
type TemplateFile = Template['files'][number];
type TemplateSetup = Template['setup'][number];

/** A command as the template keeps it: a string for /bin/sh -c, or a list of arguments. */
const commandOf = (command: string | string[] | undefined) => (typeof command === 'string' ? command : null);
const argsOf = (command: string | string[] | undefined) => (Array.isArray(command) ? command : null);

const LabAccountRef = builder.objectRef<Omit<TemplateAccount, 'username'> & { username?: string }>('LabAccount').implement({
  fields: (t) => ({
    username: t.string({ nullable: true, description: "Null for the student's own account, named after the student.", resolve: (a) => a.username ?? null }),
    shell: t.exposeString('shell'),
    groups: t.exposeStringList('groups'),
    home: t.string({ nullable: true, resolve: (a) => a.home ?? null }),
  }),
});

const LabFileRef = builder.objectRef<TemplateFile>('LabFile').implement({
  fields: (t) => ({
    path: t.exposeString('path'),
    content: t.exposeString('content'),
    encoding: t.field({ type: FileEncodingEnum, resolve: (f) => f.encoding }),
    mode: t.field({ type: FileModeScalar, resolve: (f) => f.mode }),
    owner: t.string({ nullable: true, resolve: (f) => f.owner ?? null }),
  }),
});

const LabSetupRef = builder.objectRef<TemplateSetup>('LabSetupCommand').implement({
  fields: (t) => ({
    command: t.string({ nullable: true, resolve: (s) => commandOf(s.command) }),
    args: t.stringList({ nullable: true, resolve: (s) => argsOf(s.command) }),
    user: t.exposeString('user'),
    timeoutSeconds: t.float({ nullable: true, resolve: (s) => s.timeoutSeconds ?? null }),
  }),
});

const EnvPairRef = builder.objectRef<{ name: string; value: string }>('EnvVariable').implement({
  fields: (t) => ({ name: t.exposeString('name'), value: t.exposeString('value') }),
});

const LabTemplateRef = builder.objectRef<Template>('LabTemplate').implement({
  description: "What every student's container is made from.",
  fields: (t) => ({
    image: t.exposeString('image'),
    command: t.string({ nullable: true, resolve: (l) => commandOf(l.command) }),
    args: t.stringList({ nullable: true, resolve: (l) => argsOf(l.command) }),
    env: t.field({ type: [EnvPairRef], resolve: (l) => Object.entries(l.env).map(([name, value]) => ({ name, value })) }),
    memoryBytes: t.float({ nullable: true, resolve: (l) => l.memoryBytes ?? null }),
    cpus: t.float({ nullable: true, resolve: (l) => l.cpus ?? null }),
    pidsLimit: t.int({ nullable: true, resolve: (l) => l.pidsLimit ?? null }),
    studentAccount: t.field({ type: LabAccountRef, resolve: (l) => l.studentAccount }),
    accounts: t.field({ type: [LabAccountRef], resolve: (l) => l.accounts }),
    files: t.field({ type: [LabFileRef], resolve: (l) => l.files }),
    setup: t.field({ type: [LabSetupRef], resolve: (l) => l.setup }),
    ttlSeconds: t.exposeInt('ttlSeconds'),
  }),
});

const SavedTemplateRef = builder.objectRef<SavedTemplate>('SavedLabTemplate').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    template: t.field({ type: LabTemplateRef, resolve: (s) => s.spec as Template }),
    savedAt: t.field({ type: DateTimeScalar, resolve: (s) => s.savedAt }),
    savedBy: t.exposeString('savedBy', { description: 'The token id that saved it.' }),
  }),
});

const LabTokenRef = builder.objectRef<TokenInfo>('LabToken').implement({
  description: "A student's token, as kept: its id and state, never the secret.",
  fields: (t) => ({
    id: t.exposeID('id'),
    student: t.exposeString('student'),
    createdAt: t.field({ type: DateTimeScalar, resolve: (k) => k.createdAt }),
    revokedAt: t.field({ type: DateTimeScalar, nullable: true, resolve: (k) => k.revokedAt }),
  }),
});

/** A student's container, or null while it has none (not provisioned yet, or removed). */
async function containerOf(student: Student, ctx: Context) {
  try {
    return await ctx.inspect(student.containerName);
  } catch (error) {
    if (error instanceof AppError && error.code === 'NOT_FOUND') return null;
    throw error;
  }
}

const LAST_ACTIVITY = 'When anything last happened in their container: a command, a file written, a terminal opened, typed into or printing.';

const StudentRef = builder.objectRef<Student>('LabStudent').implement({
  fields: (t) => ({
    id: t.exposeString('id', { description: 'Also their account name in the container.' }),
    displayName: t.exposeString('displayName'),
    state: t.field({ type: StudentStateEnum, resolve: (s) => s.state }),
    step: t.field({ type: ProvisionStepEnum, nullable: true, description: 'The provisioning step it is at, while PROVISIONING.', resolve: (s) => s.step }),
    reason: t.exposeString('reason', { nullable: true, description: 'Why provisioning FAILED; resetStudent retries.' }),
    containerName: t.exposeString('containerName'),
    container: t.field({ type: ContainerRef, nullable: true, resolve: (s, _, ctx) => containerOf(s, ctx) }),
    tokens: t.field({ type: [LabTokenRef], resolve: (s, _, ctx) => ctx.services.labs.studentTokens(s.lab, s.id) }),
    lastActivity: t.field({
      type: DateTimeScalar,
      nullable: true,
      description: LAST_ACTIVITY,
      resolve: async (s, _, ctx) => {
        const container = await containerOf(s, ctx);
        return container && ctx.services.labs.lastActivity(ctx, container);
      },
    }),
  }),
});

const LabRef = builder.objectRef<Lab>('Lab').implement({
  description: 'A class: a template, a roster of students, one container each, until it expires.',
  fields: (t) => ({
    name: t.exposeString('name'),
    state: t.field({ type: LabStateEnum, resolve: (l) => l.state }),
    template: t.field({ type: LabTemplateRef, resolve: (l) => l.template }),
    createdAt: t.field({ type: DateTimeScalar, resolve: (l) => l.createdAt }),
    expiresAt: t.field({ type: DateTimeScalar, resolve: (l) => l.expiresAt }),
    students: t.field({ type: [StudentRef], resolve: (l, _, ctx) => ctx.services.labs.students(l.name) }),
  }),
});

const CredentialsRef = builder.objectRef<Credentials>('StudentCredentials').implement({
  description: 'Shown once, in the answer that created them: podgraph keeps only their hashes.',
  fields: (t) => ({
    student: t.exposeString('student'),
    displayName: t.exposeString('displayName'),
    password: t.exposeString('password', { description: "The student's account password in their container." }),
    token: t.exposeString('token', { description: "A bearer token that works on this student's container and nothing else, until the lab expires." }),
    tokenId: t.exposeString('tokenId'),
  }),
});

const LabCreationRef = builder.objectRef<{ lab: Lab; credentials: Credentials[] }>('LabCreation').implement({
  fields: (t) => ({
    lab: t.field({ type: LabRef, resolve: (c) => c.lab }),
    credentials: t.field({ type: [CredentialsRef], resolve: (c) => c.credentials }),
  }),
});

const IssuedTokenRef = builder.objectRef<{ token: string; info: TokenInfo }>('IssuedLabToken').implement({
  fields: (t) => ({
    token: t.exposeString('token', { description: 'Shown once.' }),
    info: t.field({ type: LabTokenRef, resolve: (i) => i.info }),
  }),
});

const CheckResultRef = builder.objectRef<CheckResult>('CheckResult').implement({
  description: "One student's check: its stored execution, or why it could not run.",
  fields: (t) => ({
    student: t.exposeString('student'),
    execution: t.field({ type: ExecutionRef, nullable: true, resolve: (r) => r.execution }),
    errorCode: t.string({ nullable: true, resolve: (r) => r.error?.code ?? null }),
    errorMessage: t.string({ nullable: true, resolve: (r) => r.error?.message ?? null }),
  }),
});

const LabAccountOptionsInput = builder.inputType('LabAccountOptionsInput', {
  fields: (t) => ({
    shell: t.string({ required: false, description: 'Default /bin/sh.' }),
    groups: t.stringList({ required: false }),
    home: t.string({ required: false, description: 'Default /home/<student id>.' }),
  }),
});

const LabAccountInput = builder.inputType('LabAccountInput', {
  fields: (t) => ({
    username: t.string(),
    shell: t.string({ required: false }),
    groups: t.stringList({ required: false }),
    home: t.string({ required: false }),
  }),
});

const LabFileInput = builder.inputType('LabFileInput', {
  description: '{student} in the path, owner and content stands for the student\'s id, e.g. path "/home/{student}/task.txt", owner "{student}".',
  fields: (t) => ({
    path: t.string(),
    content: t.string(),
    encoding: t.field({ type: FileEncodingEnum, required: false }),
    mode: t.field({ type: FileModeScalar, required: false }),
    owner: t.string({ required: false }),
  }),
});

const LabSetupInput = builder.inputType('LabSetupInput', {
  description: 'Run after the accounts and files, as root unless user is given; $STUDENT and $LAB are set. A non-zero exit fails the student.',
  fields: (t) => ({
    command: t.string({ required: false, description: 'Run by /bin/sh -c.' }),
    args: t.stringList({ required: false, description: 'Run as is, with no shell.' }),
    user: t.string({ required: false }),
    timeoutSeconds: t.float({ required: false }),
  }),
});

const LabTemplateInputRef = builder.inputType('LabTemplateInput', {
  fields: (t) => ({
    image: t.string({ description: 'A local image; images are never pulled.' }),
    command: t.string({ required: false }),
    args: t.stringList({ required: false }),
    env: t.field({ type: [KeyValueInput], required: false }),
    memoryBytes: t.float({ required: false }),
    cpus: t.float({ required: false }),
    pidsLimit: t.int({ required: false }),
    studentAccount: t.field({ type: LabAccountOptionsInput, required: false, description: "The student's own account, named after the student, with a generated password." }),
    accounts: t.field({ type: [LabAccountInput], required: false, description: 'Further accounts in every container, without a password.' }),
    files: t.field({ type: [LabFileInput], required: false }),
    setup: t.field({ type: [LabSetupInput], required: false }),
    ttlSeconds: t.int({ required: false, description: 'How long a lab lasts; default 10800 (three hours).' }),
  }),
});

const StudentInput = builder.inputType('StudentInput', {
  fields: (t) => ({
    id: t.string({ description: 'Their account name too: lowercase letters, digits, _ and -.' }),
    displayName: t.string(),
  }),
});

const CreateLabInput = builder.inputType('CreateLabInput', {
  fields: (t) => ({
    name: t.string({ description: 'Lowercase letters, digits and -; containers are named <lab>-<student>.' }),
    template: t.field({ type: LabTemplateInputRef, required: false }),
    templateName: t.string({ required: false, description: 'A saved template, instead of template.' }),
    students: t.field({ type: [StudentInput] }),
    ttlSeconds: t.int({ required: false, description: "Overrides the template's." }),
  }),
});

type TemplateArgs = typeof LabTemplateInputRef.$inferInput;

/** GraphQL's nulls dropped and its command pairs folded, as the template schema takes it. */
function toTemplate(input: TemplateArgs): LabTemplateInput {
  const { command, args, env, studentAccount, accounts, files, setup, ...rest } = input;
  return {
    ...stripNulls(rest),
    command: pickCommand(command, args),
    env: toRecord(env),
    studentAccount: studentAccount ? stripNulls(studentAccount) : undefined,
    accounts: accounts?.map((a) => stripNulls(a)),
    files: files?.map((f) => stripNulls(f)),
    setup: setup?.map(({ command: c, args: a, ...s }) => ({ ...stripNulls(s), command: pickCommand(c, a)! })),
  } as LabTemplateInput;
}

builder.queryFields((t) => ({
  labs: t.field({
    type: [LabRef],
    description: 'Every lab, by name. Labs are for staff: a token with a container scope is FORBIDDEN here and in every lab field.',
    authScopes: { viewer: true },
    resolve: (_, __, ctx) => ctx.services.labs.labs(ctx),
  }),
  lab: t.field({ type: LabRef, authScopes: { viewer: true }, args: { name: t.arg.string() }, resolve: (_, { name }, ctx) => ctx.services.labs.lab(ctx, name) }),
  labTemplates: t.field({ type: [SavedTemplateRef], authScopes: { viewer: true }, resolve: (_, __, ctx) => ctx.services.labs.templates(ctx) }),
}));

builder.mutationFields((t) => ({
  saveLabTemplate: t.field({
    type: SavedTemplateRef,
    description: 'Saves a template under a name (replacing one of that name), checked as createLab would check it.',
    authScopes: { operator: true },
    args: { name: t.arg.string(), template: t.arg({ type: LabTemplateInputRef }) },
    resolve: (_, { name, template }, ctx) => ctx.services.labs.saveTemplate(ctx, name, toTemplate(template), ctx.requester),
  }),
  createLab: t.field({
    type: LabCreationRef,
    description:
      'Creates a lab and provisions every student in the background (labProgress follows it). The template is checked, and the quotas kept, before anything is created. ' +
      'The answer holds each student\'s password and token: they are shown this once.',
    authScopes: { operator: true },
    args: { input: t.arg({ type: CreateLabInput }) },
    resolve: (_, { input }, ctx) =>
      ctx.services.labs.create(ctx, { ...stripNulls(input), template: input.template ? toTemplate(input.template) : undefined }, ctx.requester),
  }),
  addStudents: t.field({
    type: [CredentialsRef],
    authScopes: { operator: true },
    args: { lab: t.arg.string(), students: t.arg({ type: [StudentInput] }) },
    resolve: (_, { lab, students }, ctx) => ctx.services.labs.addStudents(ctx, lab, students, ctx.requester),
  }),
  removeStudent: t.field({
    type: StudentRef,
    description: "Removes the student's containers, account record and tokens; what they did stays in the history.",
    authScopes: { operator: true },
    args: { lab: t.arg.string(), student: t.arg.string() },
    resolve: (_, { lab, student }, ctx) => ctx.services.labs.removeStudent(ctx, lab, student),
  }),
  resetStudent: t.field({
    type: StudentRef,
    description: "Provisions the student's container again from the template (retries a FAILED one); their password and tokens stay.",
    authScopes: { operator: true },
    args: { lab: t.arg.string(), student: t.arg.string() },
    resolve: (_, { lab, student }, ctx) => ctx.services.labs.resetStudent(ctx, lab, student, ctx.requester),
  }),
  startLab: t.field({ type: LabRef, authScopes: { operator: true }, args: { lab: t.arg.string() }, resolve: (_, { lab }, ctx) => ctx.services.labs.startLab(ctx, lab) }),
  stopLab: t.field({ type: LabRef, authScopes: { operator: true }, args: { lab: t.arg.string() }, resolve: (_, { lab }, ctx) => ctx.services.labs.stopLab(ctx, lab) }),
  extendLab: t.field({
    type: LabRef,
    description: 'Moves the end later by seconds (from now, if it has passed). An expired lab becomes STOPPED: startLab starts it again.',
    authScopes: { operator: true },
    args: { lab: t.arg.string(), seconds: t.arg.int() },
    resolve: (_, { lab, seconds }, ctx) => ctx.services.labs.extendLab(ctx, lab, seconds),
  }),
  removeLab: t.field({
    type: LabRef,
    description: 'Removes every container labelled with the lab, then the lab, its students and tokens; the history stays.',
    authScopes: { operator: true },
    args: { lab: t.arg.string() },
    resolve: (_, { lab }, ctx) => ctx.services.labs.removeLab(ctx, lab),
  }),
  issueToken: t.field({
    type: IssuedTokenRef,
    description: 'A new token for a student (after one was revoked or lost).',
    authScopes: { operator: true },
    args: { lab: t.arg.string(), student: t.arg.string() },
    resolve: (_, { lab, student }, ctx) => ctx.services.labs.issueToken(ctx, lab, student),
  }),
  revokeToken: t.field({
    type: LabTokenRef,
    description: "Revokes a student's token at once, on every transport.",
    authScopes: { operator: true },
    args: { id: t.arg.string() },
    resolve: (_, { id }, ctx) => ctx.services.labs.revokeToken(ctx, id),
  }),
}));

const StudentStatusRef = builder.objectRef<StudentStatus>('LabStudentStatus').implement({
  fields: (t) => ({
    id: t.exposeString('id'),
    displayName: t.exposeString('displayName'),
    state: t.field({ type: StudentStateEnum, resolve: (s) => s.state }),
    container: t.field({ type: ContainerRef, nullable: true, resolve: (s) => s.container }),
    cpuPercent: t.float({ nullable: true, resolve: (s) => s.cpuPercent }),
    memoryUsedBytes: t.float({ nullable: true, resolve: (s) => s.memoryUsedBytes }),
    memoryLimitBytes: t.float({ nullable: true, resolve: (s) => s.memoryLimitBytes }),
    lastActivity: t.field({ type: DateTimeScalar, nullable: true, description: LAST_ACTIVITY, resolve: (s) => s.lastActivity }),
    screen: t.exposeString('screen', {
      nullable: true,
      description: 'What their terminal shows now, as text (the terminal in their container that printed last, running ones first); null without one.',
    }),
  }),
});

const LabStatusRef = builder.objectRef<LabStatus>('LabStatus').implement({
  fields: (t) => ({
    lab: t.exposeString('lab'),
    at: t.field({ type: DateTimeScalar, description: 'When this picture began to be gathered.', resolve: (l) => l.at }),
    students: t.field({ type: [StudentStatusRef], resolve: (l) => l.students }),
  }),
});

const LabStatusMessageRef = builder.unionType('LabStatusMessage', {
  types: [LabStatusRef, StreamGapRef],
  resolveType: (message) => ((message as StreamGap).kind === 'gap' ? StreamGapRef : LabStatusRef),
});

const LabProgressRef = builder.unionType('LabProgress', {
  types: [StudentRef, StreamGapRef],
  resolveType: (message) => ((message as StreamGap).kind === 'gap' ? StreamGapRef : StudentRef),
});

const CheckMessageRef = builder.unionType('CheckMessage', {
  types: [CheckResultRef, StreamGapRef],
  resolveType: (message) => ((message as StreamGap).kind === 'gap' ? StreamGapRef : CheckResultRef),
});

builder.subscriptionFields((t) => ({
  labProgress: t.field({
    type: LabProgressRef,
    description: "Every student's state, then each change as provisioning goes; ends once no student is PENDING or PROVISIONING.",
    authScopes: { viewer: true },
    args: { lab: t.arg.string() },
    subscribe: (_, { lab }, ctx) => ctx.services.labs.progress(ctx, lab),
    resolve: (message) => message,
  }),
  labStatus: t.field({
    type: LabStatusMessageRef,
    description:
      "The whole class in one message every intervalMs (default 2000, at least 1000): each student's state, container, CPU, memory and last activity. " +
      'One subscription however many students; the engine is asked for stats once per running container, shared with every other watcher.',
    authScopes: { viewer: true },
    args: { lab: t.arg.string(), intervalMs: t.arg.int({ required: false }) },
    subscribe: (_, { lab, intervalMs }, ctx) => ctx.services.labs.status(ctx, lab, { intervalMs: intervalMs ?? undefined }),
    resolve: (message) => message,
  }),
  runCheck: t.field({
    type: CheckMessageRef,
    description: "Runs a check in every READY student's container (MAX_WORKERS at once) and streams each result; each run is a stored execution. Ends after the last.",
    authScopes: { operator: true },
    args: {
      lab: t.arg.string(),
      command: t.arg.string({ required: false, description: 'Run by /bin/sh -c.' }),
      args: t.arg.stringList({ required: false }),
      user: t.arg.string({ required: false }),
      timeoutSeconds: t.arg.float({ required: false, description: 'Per student; default 60.' }),
    },
    subscribe: (_, { lab, command, args, ...rest }, ctx) => ctx.services.labs.runCheck(ctx, lab, { ...stripNulls(rest), command: pickCommand(command, args)! }),
    resolve: (message) => message,
  }),
}));
