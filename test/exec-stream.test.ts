import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { Exec, StopContainer } from './documents.js';
import { graphql } from './gql/index.js';
import type { ExecStreamSubscriptionVariables } from './gql/graphql.js';
import { containerFactory, processList, startTestServer, TEST_IMAGES } from './kit.js';
import { watchWs, wsClient } from './live-client.js';

const ExecStream = graphql(`
  subscription ExecStream(
    $container: String!
    $command: String
    $args: [String!]
    $user: String
    $workdir: String
    $env: [KeyValueInput!]
    $tty: Boolean
  ) {
    execStream(container: $container, command: $command, args: $args, user: $user, workdir: $workdir, env: $env, tty: $tty) {
      __typename
      ... on ExecStarted {
        executionId
      }
      ... on ExecOutput {
        stream
        data
        cursor
      }
      ... on StreamGap {
        missed
      }
      ... on ExecExited {
        executionId
        exitCode
        durationMs
      }
    }
  }
`);

/** The value of the gauge of running execStream processes. */
async function streamingGauge(url: string): Promise<number> {
  const metrics = await (await fetch(`${url}/metrics`)).text();
  return Number(/^podgraph_interactive_processes\{kind="exec_stream"\} (\d+)$/m.exec(metrics)?.[1]);
}

const RecentExecutions = graphql(`
  query RecentExecutions($ref: String!) {
    container(ref: $ref) {
      executions {
        id
        command
        user
        exitCode
        stdout
        stderr
        startedAt
        finishedAt
        cancelled
      }
    }
  }
`);

describe('execStream', async () => {
  const server = await startTestServer();
  const create = containerFactory(server);
  const client = wsClient(server);
  afterAll(() => client.dispose());

  describe.each(TEST_IMAGES)('on $label', ({ image }) => {
    it('streams stdout and stderr apart, then the exit code, and records the run next to exec runs', async () => {
      const c = await create(image);
      await server.ok(Exec, { container: c.name, input: { command: 'echo from-exec' } });
      // "€" (E2 82 AC) is written in two pieces with a pause: it must still arrive whole.
      const command = "echo out1; sleep 0.1; echo err1 >&2; sleep 0.1; printf '\\342\\202'; sleep 0.1; printf '\\254\\n'; exit 3";
      const run = watchWs(client, ExecStream, { container: c.name, command, user: 'nobody' });
      await run.until(() => run.done);
      expect(run.errors).toEqual([]);
      const events = run.events.map((e) => e.execStream);
      const started = events[0]!;
      const exited = events.at(-1)!;
      expect(started.__typename).toBe('ExecStarted');
      expect(exited).toMatchObject({ __typename: 'ExecExited', exitCode: 3 });
      const output = events.filter((e) => e.__typename === 'ExecOutput');
      const text = (stream: string) => output.map((e) => (e.__typename === 'ExecOutput' && e.stream === stream ? e.data : '')).join('');
      expect(text('STDOUT')).toBe('out1\n€\n');
      expect(text('STDERR')).toBe('err1\n');
      expect(output.map((e) => e.__typename === 'ExecOutput' && Number(e.cursor))).toEqual(output.map((_, i) => i + 1));
      if (exited.__typename !== 'ExecExited' || started.__typename !== 'ExecStarted') throw new Error('unreachable');
      expect(exited.executionId).toBe(started.executionId);
      expect(exited.durationMs).toBeGreaterThanOrEqual(300);

      const { container } = await server.ok(RecentExecutions, { ref: c.name });
      expect(container.executions.map((e) => [e.command.at(-1), e.exitCode])).toEqual([
        [command, 3],
        ['echo from-exec', 0],
      ]);
      expect(container.executions[0]).toMatchObject({ id: started.executionId, user: 'nobody', stdout: 'out1\n€\n', stderr: 'err1\n', cancelled: false });
    });

    it('runs in a pseudo-terminal when asked: one stream; with env and workdir', async () => {
      const c = await create(image);
      const script = 'test -t 1 && echo is-a-tty; echo "$GREETING in $(pwd)"; echo err >&2';
      const env = [{ name: 'GREETING', value: 'hello' }];
      const run = watchWs(client, ExecStream, { container: c.name, args: ['sh', '-c', script], env, workdir: '/tmp', tty: true });
      await run.until(() => run.done);
      const output = run.events.map((e) => e.execStream).filter((e) => e.__typename === 'ExecOutput');
      expect(output.every((e) => e.stream === 'STDOUT')).toBe(true);
      expect(output.map((e) => e.data).join('')).toBe('is-a-tty\r\nhello in /tmp\r\nerr\r\n');
    });

    it('kills the process tree when the client goes away', async () => {
      const c = await create(image);
      // A child that outlives its shell's kill unless the whole tree is killed.
      // As another user than root, whose processes even root cannot inspect without CAP_SYS_PTRACE.
      const run = watchWs(client, ExecStream, { container: c.name, command: 'sleep 4242 & echo ready; wait', user: 'nobody' });
      await run.until((events) => events.some((e) => e.execStream.__typename === 'ExecOutput'));
      expect(await processList(server, c.name)).toContain('sleep 4242');
      expect(await streamingGauge(server.url)).toBe(1);
      run.stop();
      let left = '';
      for (let attempt = 0; attempt < 50; attempt++) {
        left = await processList(server, c.name);
        if (!left.includes('sleep 4242')) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(left).not.toContain('sleep 4242');
      // The run is recorded (once its exit code is known) even though nobody saw its end.
      const recorded = async () => (await server.ok(RecentExecutions, { ref: c.name })).container.executions.find((e) => e.command.at(-1)!.includes('sleep 4242'));
      for (let attempt = 0; attempt < 50 && !(await recorded()); attempt++) await new Promise((r) => setTimeout(r, 100));
      expect(await recorded()).toMatchObject({ stdout: 'ready\n', cancelled: true });
      expect(await streamingGauge(server.url)).toBe(0);
    });
  });

  it('kills streamed executions when the server stops, after telling their subscribers', async () => {
    const stopping = await startTestServer();
    const stoppingClient = wsClient(stopping);
    onTestFinished(() => stoppingClient.dispose());
    const c = await create(TEST_IMAGES[1].image);
    const run = watchWs(stoppingClient, ExecStream, { container: c.name, command: 'echo ready; exec sleep 4646' });
    await run.until((events) => events.some((e) => e.execStream.__typename === 'ExecOutput'));
    await stopping.stop();
    expect(run.events.at(-1)!.execStream.__typename).toBe('ExecExited');
    expect(await processList(server, c.name)).not.toContain('sleep 4646');
  });

  it('fails like any request for bad input, an unknown container or a stopped one', async () => {
    const errorCodes = async (variables: ExecStreamSubscriptionVariables) => {
      const run = watchWs(client, ExecStream, variables);
      await run.until(() => run.done);
      return run.errors.map((e) => e.extensions?.code);
    };
    expect(await errorCodes({ container: 'pgt-no-such-container', command: 'true' })).toEqual(['NOT_FOUND']);
    const c = await create(TEST_IMAGES[1].image);
    expect(await errorCodes({ container: c.name })).toEqual(['BAD_USER_INPUT']);
    expect(await errorCodes({ container: c.name, command: 'true', user: 'bad user' })).toEqual(['BAD_USER_INPUT']);
    await server.ok(StopContainer, { container: c.name, timeoutSeconds: 0 });
    expect(await errorCodes({ container: c.name, command: 'true' })).toEqual(['CONFLICT']);
  });
});
