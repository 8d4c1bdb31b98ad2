import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { afterAll, describe, expect, it } from 'vitest';
import { sha512Crypt } from '../src/core/shacrypt.js';
import { createDockerClient, selectEngine } from '../src/engine/docker/connect.js';
import { authTokens, codes, TOKENS, TRANSPORTS, transports, type Outcome } from './auth-kit.js';
import { AddUser, ContainerQuery, CreateLab, Exec, ExecutionQuery, OpenTerminalId, ReadFile, RemoveLab, ServerStatsQuery, TerminalInput, TerminalWatchKinds, WriteFile } from './documents.js';
import type { LabTemplateInput } from './gql/graphql.js';
import { graphql } from './gql/index.js';
import { BUSYBOX_IMAGE, DEBIAN_IMAGE, startTestServer, waitFor } from './kit.js';
import { watchWs, wsClient } from './live-client.js';
import { serverProcess } from './process-kit.js';
import { expectError, restClient } from './rest-client.js';
import { freshDataDir } from './store-kit.js';

/*
 * A class's whole life, as a-class.md tells it: a template saved and reused, a lab of students
 * provisioned (one failing alone), each student's token on their own container and nowhere else,
 * a reset, a check across the class, expiry that leaves nothing behind, and a restart mid-way.
 */

const RUN = `${process.pid.toString(36)}${Date.now().toString(36).slice(-5)}`;
const labName = (what: string) => `t${RUN}-${what}`;

const SaveTemplate = graphql(`
  mutation SaveLabTemplate($name: String!, $template: LabTemplateInput!) {
    saveLabTemplate(name: $name, template: $template) {
      name
      template {
        image
        files {
          path
          mode
          owner
        }
      }
    }
  }
`);

const LabQuery = graphql(`
  query Lab($name: String!) {
    lab(name: $name) {
      name
      state
      expiresAt
      students {
        id
        displayName
        state
        reason
        containerName
        container {
          id
          state
        }
        tokens {
          id
          revokedAt
        }
        lastActivity
      }
    }
  }
`);

const LabProgress = graphql(`
  subscription LabProgress($lab: String!) {
    labProgress(lab: $lab) {
      ... on LabStudent {
        id
        state
        step
        reason
      }
    }
  }
`);

const RunCheck = graphql(`
  subscription RunCheck($lab: String!, $command: String!) {
    runCheck(lab: $lab, command: $command) {
      ... on CheckResult {
        student
        errorCode
        execution {
          id
          exitCode
          stdout
        }
      }
    }
  }
`);

const LabStatus = graphql(`
  subscription LabStatus($lab: String!) {
    labStatus(lab: $lab, intervalMs: 1000) {
      ... on LabStatus {
        at
        students {
          id
          state
          cpuPercent
          memoryUsedBytes
          lastActivity
          screen
          container {
            state
          }
        }
      }
    }
  }
`);

const ResetStudent = graphql(`
  mutation ResetStudent($lab: String!, $student: String!) {
    resetStudent(lab: $lab, student: $student) {
      id
      state
    }
  }
`);

const RevokeToken = graphql(`
  mutation RevokeToken($id: String!) {
    revokeToken(id: $id) {
      id
      revokedAt
    }
  }
`);

const IssueToken = graphql(`
  mutation IssueToken($lab: String!, $student: String!) {
    issueToken(lab: $lab, student: $student) {
      token
      info {
        id
      }
    }
  }
`);

const StopLab = graphql(`
  mutation StopLab($lab: String!) {
    stopLab(lab: $lab) {
      state
    }
  }
`);

const StartAndExtendLab = graphql(`
  mutation StartAndExtendLab($lab: String!, $seconds: Int!) {
    startLab(lab: $lab) {
      state
    }
    extendLab(lab: $lab, seconds: $seconds) {
      state
      expiresAt
    }
  }
`);

const Labs = graphql(`
  query Labs {
    labs {
      name
    }
  }
`);

const LAB_SCOPE = labName('scope');
const server = await startTestServer({ AUTH_TOKENS: authTokens(LAB_SCOPE), LAB_GRACE_PERIOD: '1', MAX_LAB_STUDENTS: '6' });
const engine = createDockerClient(selectEngine(process.env.DOCKER_HOST));

/** Every container a lab of this file made, found by label as the server finds them. */
const containersOf = async (lab: string) => engine.listContainers({ all: true, filters: { label: [`podgraph.lab=${lab}`] } });

const labsMade: string[] = [];
afterAll(async () => {
  for (const lab of labsMade) await Promise.all((await containersOf(lab)).map((c) => engine.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
});

function as<T, V>(token: string, document: TypedDocumentNode<T, V>, variables: V, transport: keyof typeof transports = 'http'): Promise<Outcome<T>> {
  return transports[transport]<T>(server.url, token, print(document), variables);
}

async function okAs<T, V>(token: string, document: TypedDocumentNode<T, V>, variables: V): Promise<T> {
  const result = await as(token, document, variables);
  if (result.errors?.length || !result.data) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
  return result.data;
}

const staff = <T, V>(document: TypedDocumentNode<T, V>, variables: V) => okAs(TOKENS.operator, document, variables);

/** The exercise of a-class.md, on Debian: a task file only the student reads, a root-only flag, a group made by setup. */
const EXERCISE: LabTemplateInput = {
  image: DEBIAN_IMAGE,
  command: 'sleep infinity',
  studentAccount: { shell: '/bin/bash', groups: [] },
  accounts: [{ username: 'helper' }],
  files: [
    { path: '/home/{student}/task.txt', content: 'Read /root/flag, {student}.\n', mode: '0600', owner: '{student}' },
    { path: '/root/flag', content: 'flag{perm}\n', mode: '0600', owner: 'root' },
  ],
  setup: [{ command: 'groupadd -f lab && echo "$STUDENT" > /root/who' }],
  ttlSeconds: 3600,
};

async function createLab(name: string, input: Record<string, unknown>) {
  labsMade.push(name);
  return (await staff(CreateLab, { input: { name, ...input } as never })).createLab;
}

const students = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `s0${i + 1}`, displayName: `Student ${i + 1}` }));

async function untilSettled(lab: string) {
  const client = wsClient(server, TOKENS.operator);
  const watch = watchWs(client, LabProgress, { lab });
  // The subscription ends itself once no student is waiting or being provisioned.
  await watch.until(() => watch.done, 120_000).finally(() => client.dispose());
  expect(watch.errors).toEqual([]);
  return (await staff(LabQuery, { name: lab })).lab;
}

describe('a lab from a saved template, on Debian', () => {
  const lab = labName('week3');
  let credentials: Awaited<ReturnType<typeof createLab>>['credentials'];
  const tokenOf = (student: string) => credentials.find((c) => c.student === student)!.token;

  it('saves a template, creates a lab of five from it and follows each student to READY', async () => {
    const saved = await staff(SaveTemplate, { name: labName('tpl'), template: EXERCISE });
    expect(saved.saveLabTemplate.template.files[0]).toEqual({ path: '/home/{student}/task.txt', mode: 0o600, owner: '{student}' });

    const created = await createLab(lab, { templateName: labName('tpl'), students: students(5) });
    credentials = created.credentials;
    expect(created.lab.state).toBe('ACTIVE');
    expect(credentials.map((c) => c.student)).toEqual(['s01', 's02', 's03', 's04', 's05']);
    expect(new Set(credentials.map((c) => c.token)).size).toBe(5);
    expect(new Set(credentials.map((c) => c.password)).size).toBe(5);

    const settled = await untilSettled(lab);
    expect(settled.students.map((s) => [s.id, s.state, s.container?.state])).toEqual(students(5).map((s) => [s.id, 'READY', 'RUNNING']));
    expect(settled.students[0]!.lastActivity).not.toBeNull();
  });

  it("gives each student their account with the password handed out, their files and the setup's work", async () => {
    for (const { student, password } of credentials.slice(0, 2)) {
      const container = `${lab}-${student}`;
      const run = async (command: string, user?: string) => (await staff(Exec, { container, input: { command, user } })).exec;
      expect((await run('cat ~/task.txt', student)).stdout).toBe(`Read /root/flag, ${student}.\n`);
      expect((await run('stat -c "%a %U" /home/*/task.txt /root/flag')).stdout).toBe(`600 ${student}\n600 root\n`);
      expect((await run('cat /root/flag', student)).exitCode).not.toBe(0);
      expect((await run('cat /root/who; getent group lab >/dev/null && id -un helper')).stdout).toBe(`${student}\nhelper\n`);
      const hash = (await run(`getent shadow ${student} | cut -d: -f2`)).stdout.trim();
      expect(sha512Crypt(password, hash.split('$')[2]!)).toBe(hash);
    }
  });

  it("shows the whole class in one message a tick, over one stats stream per container, with terminal typing as activity and each terminal's screen", async () => {
    type Tick = {
      at: string;
      students: Array<{ id: string; cpuPercent: number | null; memoryUsedBytes: number | null; lastActivity: string | null; screen: string | null; container: { state: string } | null }>;
    };
    const client = wsClient(server, TOKENS.operator);
    const watches = [watchWs(client, LabStatus, { lab }), watchWs(client, LabStatus, { lab })];
    const ticks = (i: number) => watches[i]!.events.map((e) => e.labStatus as Tick);
    const measured = (tick: Tick) => tick.students.every((s) => s.cpuPercent !== null && s.memoryUsedBytes !== null && s.container?.state === 'RUNNING');
    await Promise.all(watches.map((w, i) => w.until(() => ticks(i).some(measured), 60_000)));
    const streams = (await staff(ServerStatsQuery, {})).serverStats.streams.find((s) => s.kind === 'stats')!;
    expect(streams).toEqual({ kind: 'stats', upstreams: 5, subscribers: 10 });

    expect(ticks(0).at(-1)!.students.map((s) => s.screen)).toEqual(Array(5).fill(null));
    const terminal = (await staff(OpenTerminalId, { container: `${lab}-s04`, args: ['cat'] })).openTerminal;
    const typedAt = Date.now();
    await staff(TerminalInput, { id: terminal.id, data: 'typing\n' });
    const s04 = (tick: Tick) => tick.students.find((s) => s.id === 's04')!;
    const seen = await watches[0]!.until(() => ticks(0).some((tick) => new Date(tick.at).getTime() > typedAt && new Date(s04(tick).lastActivity ?? 0).getTime() >= typedAt), 30_000);
    expect(seen.length).toBeGreaterThan(0);
    // The terminal echoes the line and cat prints it again: the screen shows both, as a terminal would.
    await watches[0]!.until(() => ticks(0).some((tick) => s04(tick).screen === 'typing\ntyping'), 30_000);
    for (const watch of watches) watch.stop();
    client.dispose();
  });

  it.each(TRANSPORTS)("lets a student's token reach their own container and nothing else, over %s", async (transport) => {
    const own = await as(tokenOf('s01'), ContainerQuery, { ref: `${lab}-s01` }, transport);
    expect(own.data?.container).toBeTruthy();
    const other = await as(tokenOf('s01'), ContainerQuery, { ref: `${lab}-s02` }, transport);
    expect(codes(other)).toEqual(['NOT_FOUND']);
    const otherId = (await staff(ContainerQuery, { ref: `${lab}-s02` })).container.id;
    expect(codes(await as(tokenOf('s01'), ContainerQuery, { ref: otherId }, transport))).toEqual(['NOT_FOUND']);
    expect(codes(await as(tokenOf('s01'), Exec, { container: `${lab}-s02`, input: { command: 'id' } }, transport))).toEqual(['NOT_FOUND']);
    expect(codes(await as(tokenOf('s01'), Labs, {}, transport))).toEqual(['FORBIDDEN']);
  });

  it("runs a student's commands and terminals as their own account, and refuses them the tools that act as root", async () => {
    const token = tokenOf('s01');
    const container = `${lab}-s01`;
    expect((await okAs(token, Exec, { container, input: { command: 'id -un; cat /root/flag' } })).exec).toMatchObject({ stdout: 's01\n', exitCode: 1 });
    expect(codes(await as(token, Exec, { container, input: { command: 'cat /root/flag', user: 'root' } }))).toEqual(['FORBIDDEN']);
    const StudentTerminal = graphql(`
      mutation StudentTerminal($container: String!, $user: String) {
        openTerminal(container: $container, args: ["sleep", "60"], user: $user) {
          id
          user
        }
      }
    `);
    expect((await okAs(token, StudentTerminal, { container })).openTerminal.user).toBe('s01');
    expect(codes(await as(token, StudentTerminal, { container, user: '0' }))).toEqual(['FORBIDDEN']);
    // A terminal a teacher opened as root in the student's container is the student's to watch, not to type into.
    const teachers = (await staff(OpenTerminalId, { container, args: ['sh'] })).openTerminal;
    expect(codes(await as(token, TerminalInput, { id: teachers.id, data: 'id\n' }))).toEqual(['FORBIDDEN']);
    expect(codes(await as(token, ReadFile, { ref: container, path: '/root/flag' }))).toEqual(['FORBIDDEN']);
    expect(codes(await as(token, WriteFile, { container, input: { path: '/etc/sudoers.d/me', content: 's01 ALL=(ALL) NOPASSWD: ALL\n' } }))).toEqual(['FORBIDDEN']);
    expect(codes(await as(token, AddUser, { container, input: { username: 'backdoor' } }))).toEqual(['FORBIDDEN']);
    expectError(await restClient(server, token)('POST', `/containers/${container}/files`, { path: '/tmp/x', content: 'x' }), 403);
    const { whoami } = await okAs(token, graphql(`query StudentWhoami { whoami { tokenId role scoped account } }`), {});
    expect(whoami).toEqual({ tokenId: credentials[0]!.tokenId, role: 'operator', scoped: true, account: 's01' });
  });

  it("lets a student's token reach their own container and nothing else, over REST", async () => {
    const student = restClient(server, tokenOf('s01'));
    expect((await student('POST', `/containers/${lab}-s01/exec`, { command: 'true' })).status).toBe(200);
    expect((await student('GET', '/containers')).body.containers.map((c: { name: string }) => c.name)).toEqual([`${lab}-s01`]);
    expectError(await student('POST', `/containers/${lab}-s02/exec`, { command: 'true' }), 404);
    expectError(await student('GET', `/containers/${lab}-s02/logs`), 404);
  });

  it("refuses a student's token on another student's execution and terminal, guessed by id", async () => {
    const execution = (await staff(Exec, { container: `${lab}-s02`, input: { command: 'echo secret' } })).exec;
    expect(codes(await as(tokenOf('s01'), ExecutionQuery, { id: execution.id }))).toEqual(['NOT_FOUND']);
    expect((await okAs(tokenOf('s02'), ExecutionQuery, { id: execution.id })).execution?.output).toBe('secret\n');
    const terminal = (await staff(OpenTerminalId, { container: `${lab}-s02`, args: ['sleep', '600'] })).openTerminal;
    for (const transport of ['sse', 'ws'] as const) {
      expect(codes(await as(tokenOf('s01'), TerminalWatchKinds, { id: terminal.id }, transport))).toEqual(['NOT_FOUND']);
    }
    // A student makes no containers of their own: the lab gives them theirs.
    const made = await as(tokenOf('s01'), graphql(`mutation StudentCreates($input: CreateContainerInput!) { createContainer(input: $input) { id } }`), {
      input: { image: BUSYBOX_IMAGE, name: `${lab}-s01-extra` },
    });
    expect(codes(made)).toEqual(['FORBIDDEN']);
  });

  it('resets one student from the template; their token and password stay', async () => {
    const before = (await staff(ContainerQuery, { ref: `${lab}-s03` })).container.id;
    await staff(Exec, { container: `${lab}-s03`, input: { command: 'rm /home/s03/task.txt' } });
    expect((await staff(ResetStudent, { lab, student: 's03' })).resetStudent.state).toBe('PENDING');
    const settled = await untilSettled(lab);
    const s03 = settled.students.find((s) => s.id === 's03')!;
    expect(s03.state).toBe('READY');
    expect(s03.container!.id).not.toBe(before);
    expect((await okAs(tokenOf('s03'), Exec, { container: `${lab}-s03`, input: { command: 'cat /home/s03/task.txt' } })).exec.stdout).toContain('s03');
    expect(await containersOf(lab)).toHaveLength(5);
  });

  it('runs a check in every container and keeps each run as an execution', async () => {
    const client = wsClient(server, TOKENS.operator);
    const watch = watchWs(client, RunCheck, { lab, command: 'test -r /root/flag && echo solved' });
    await watch.until(() => watch.done, 60_000).finally(() => client.dispose());
    expect(watch.errors).toEqual([]);
    const results = watch.events.map((e) => e.runCheck as { student: string; errorCode: string | null; execution: { id: string; exitCode: number; stdout: string } });
    expect(results.map((r) => r.student).sort()).toEqual(['s01', 's02', 's03', 's04', 's05']);
    for (const result of results) {
      expect(result.errorCode).toBeNull();
      expect(result.execution.stdout).toBe('solved\n');
      expect((await staff(ExecutionQuery, { id: result.execution.id })).execution?.exitCode).toBe(0);
    }
  });

  it('revokes a token at once and issues another', async () => {
    const s05 = credentials.find((c) => c.student === 's05')!;
    await staff(RevokeToken, { id: s05.tokenId });
    const refused = await as(s05.token, ContainerQuery, { ref: `${lab}-s05` });
    expect(codes(refused)).toEqual(['UNAUTHENTICATED']);
    expect(refused.errors![0]!.message).toBe('The token has been revoked');
    const issued = (await staff(IssueToken, { lab, student: 's05' })).issueToken;
    expect((await okAs(issued.token, ContainerQuery, { ref: `${lab}-s05` })).container).toBeTruthy();
    const tokens = (await staff(LabQuery, { name: lab })).lab.students.find((s) => s.id === 's05')!.tokens;
    expect(tokens.map((t) => [t.id, t.revokedAt !== null])).toEqual([[s05.tokenId, true], [issued.info.id, false]]);
  });

  it('stops, starts and extends the lab', async () => {
    const before = (await staff(LabQuery, { name: lab })).lab.expiresAt;
    expect((await staff(StopLab, { lab })).stopLab.state).toBe('STOPPED');
    expect((await containersOf(lab)).map((c) => c.State)).toEqual(Array(5).fill('exited'));
    const started = await staff(StartAndExtendLab, { lab, seconds: 1800 });
    expect(started.startLab.state).toBe('ACTIVE');
    expect((await containersOf(lab)).map((c) => c.State)).toEqual(Array(5).fill('running'));
    expect(new Date(started.extendLab.expiresAt).getTime() - new Date(before).getTime()).toBe(1800_000);
  });

  it('removes the lab and every container it had', async () => {
    await staff(RemoveLab, { lab });
    expect(await containersOf(lab)).toEqual([]);
    expect(codes(await as(TOKENS.operator, LabQuery, { name: lab }))).toEqual(['NOT_FOUND']);
    expect(codes(await as(tokenOf('s01'), ContainerQuery, { ref: `${lab}-s01` }))).toEqual(['UNAUTHENTICATED']);
  });
});

describe('labs on busybox', () => {
  const BUSYBOX_EXERCISE: LabTemplateInput = { image: BUSYBOX_IMAGE, command: 'sleep 3600', setup: [{ command: 'test "$STUDENT" != s02' }] };

  it('streams each step, fails one student alone with the reason, and provisions the others', async () => {
    const lab = labName('fail');
    // Setup waits for the test's go, so the steps are seen whatever the machine's speed.
    const waitForGo = { command: 'while [ ! -e /tmp/go ]; do sleep 0.1; done', timeoutSeconds: 120 };
    await createLab(lab, { template: { ...BUSYBOX_EXERCISE, setup: [waitForGo, ...BUSYBOX_EXERCISE.setup!] }, students: students(3) });
    const client = wsClient(server, TOKENS.operator);
    const progress = watchWs(client, LabProgress, { lab });
    type Progress = { id: string; state: string; step: string | null; reason: string | null };
    const events = () => progress.events.map((e) => e.labProgress as Progress);
    const latest = () => new Map(events().map((e) => [e.id, e]));
    await progress.until(() => [...latest().values()].filter((e) => e.step === 'SETUP').length === 3, 60_000);
    for (const { id } of students(3)) await staff(Exec, { container: `${lab}-${id}`, input: { command: 'touch /tmp/go' } });
    await progress.until(() => progress.done, 60_000).finally(() => client.dispose());
    expect(progress.errors).toEqual([]);
    expect([...latest().values()].map((e) => [e.id, e.state, e.reason])).toEqual([
      ['s01', 'READY', null],
      ['s02', 'FAILED', 'Setup command 2 exited with 1'],
      ['s03', 'READY', null],
    ]);
    await staff(RemoveLab, { lab });
  });

  it('expires a lab: its containers stop, its tokens are refused, and after the grace period nothing is left', async () => {
    const lab = labName('exp');
    const { credentials } = await createLab(lab, { template: { image: BUSYBOX_IMAGE, command: 'sleep 3600' }, students: students(2), ttlSeconds: 1 });
    const refusal = await waitFor(
      () => as(credentials[0]!.token, ContainerQuery, { ref: `${lab}-s01` }),
      (r) => codes(r)[0] === 'UNAUTHENTICATED',
      30_000,
    );
    expect(refusal.errors![0]!.message).toBe(`The token has expired with its lab ${lab}`);
    await waitFor(() => as(TOKENS.operator, LabQuery, { name: lab }), (r) => codes(r)[0] === 'NOT_FOUND', 60_000);
    expect(await containersOf(lab)).toEqual([]);
  });

  it('refuses bad templates and rosters before anything exists', async () => {
    const lab = labName('bad');
    const attempt = (input: Record<string, unknown>) => as(TOKENS.operator, CreateLab, { input: { name: lab, students: students(2), template: BUSYBOX_EXERCISE, ...input } as never });
    expect(codes(await attempt({ template: { image: 'localhost/podgraph/missing:latest' } }))).toEqual(['NOT_FOUND']);
    expect(codes(await attempt({ template: { image: BUSYBOX_IMAGE, memoryBytes: 2 ** 40 } }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await attempt({ template: { image: BUSYBOX_IMAGE, files: [{ path: 'relative', content: '' }] } }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await attempt({ students: [{ id: 's01', displayName: 'A' }, { id: 's01', displayName: 'B' }] }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await attempt({ students: [{ id: 'S 1', displayName: 'A' }] }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await attempt({ name: 'Not A Name' }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await attempt({ students: students(7) }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await attempt({ templateName: 'no-such-template', template: undefined }))).toEqual(['NOT_FOUND']);
    expect(codes(await as(TOKENS.viewer, CreateLab, { input: { name: lab, students: students(1), template: BUSYBOX_EXERCISE } }))).toEqual(['FORBIDDEN']);
    expect(codes(await as(TOKENS.scoped, CreateLab, { input: { name: lab, students: students(1), template: BUSYBOX_EXERCISE } }))).toEqual(['FORBIDDEN']);
    expect(codes(await as(TOKENS.operator, LabQuery, { name: lab }))).toEqual(['NOT_FOUND']);
    expect(await containersOf(lab)).toEqual([]);
  });
});

describe('the quota of all labs together', () => {
  it('refuses a lab that would take the server past MAX_LAB_CONTAINERS, before anything is created', async () => {
    const capped = await startTestServer({ MAX_LAB_CONTAINERS: '3' });
    const first = labName('cap1');
    const second = labName('cap2');
    labsMade.push(first, second);
    const template = { image: BUSYBOX_IMAGE, command: 'sleep 3600' };
    await capped.ok(CreateLab, { input: { name: first, template, students: students(2) } });
    const refused = await capped.execute(CreateLab, { input: { name: second, template, students: students(2) } });
    expect(codes(refused)).toEqual(['BAD_USER_INPUT']);
    expect(refused.errors![0]!.message).toContain('MAX_LAB_CONTAINERS');
    expect(await containersOf(second)).toEqual([]);
    await capped.ok(RemoveLab, { lab: first });
  });
});

describe('a restart while a lab is being provisioned', () => {
  it('resumes and converges: every student READY, one container each', async () => {
    const dataDir = freshDataDir();
    const lab = labName('resume');
    labsMade.push(lab);
    const first = await serverProcess({ DATA_DIR: dataDir });
    const template = { image: BUSYBOX_IMAGE, command: 'sleep 3600', setup: [{ command: 'sleep 1' }] };
    await first.ok(CreateLab, { input: { name: lab, students: students(5), template } });
    // Killed once the first containers exist, while the others are still being made.
    await waitFor(() => containersOf(lab), (found) => found.length > 0, 60_000);
    await first.kill();

    const second = await serverProcess({ DATA_DIR: dataDir });
    const settled = await waitFor(
      async () => (await second.ok(LabQuery, { name: lab })).lab.students,
      (all) => all.every((s) => s.state === 'READY' || s.state === 'FAILED'),
      120_000,
    );
    expect(settled.map((s) => s.state)).toEqual(Array(5).fill('READY'));
    const found = await containersOf(lab);
    expect(found.map((c) => c.Labels['podgraph.student']).sort()).toEqual(['s01', 's02', 's03', 's04', 's05']);
    await second.ok(RemoveLab, { lab });
    expect(await containersOf(lab)).toEqual([]);
  });

  it('expires a lab whose server was killed before its end: the next server stops and removes it', async () => {
    const dataDir = freshDataDir();
    const lab = labName('reap');
    labsMade.push(lab);
    const first = await serverProcess({ DATA_DIR: dataDir });
    await first.ok(CreateLab, { input: { name: lab, students: students(1), template: { image: BUSYBOX_IMAGE, command: 'sleep 3600' }, ttlSeconds: 5 } });
    await waitFor(() => containersOf(lab), (found) => found.length === 1, 60_000);
    await first.kill();

    const second = await serverProcess({ DATA_DIR: dataDir, LAB_GRACE_PERIOD: '1' });
    await waitFor(() => second.execute(LabQuery, { name: lab }), (r) => codes(r)[0] === 'NOT_FOUND', 60_000);
    expect(await containersOf(lab)).toEqual([]);
  });
});
