import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { createClient } from 'graphql-ws';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import WebSocket from 'ws';
import { createDockerClient, selectEngine } from '../src/engine/docker/connect.js';
import { authTokens, bearer, codes, sendAs, TOKENS, transports, type Outcome } from './auth-kit.js';
import { ContainerQuery, CreateContainer, Exec, FileMeta, ReadFile } from './documents.js';
import type { CreateContainerInput, StartEventsSubscription } from './gql/graphql.js';
import { graphql } from './gql/index.js';
import { BUSYBOX_IMAGE, DEBIAN_IMAGE, startTestServer, TEST_LABEL, uniqueName } from './kit.js';
import { watchWs } from './live-client.js';
import { expectError, restClient } from './rest-client.js';

/*
 * The ways around a token's scope that labs would lose a student's work to, each tried the way
 * a student would: lab a's operator token against lab b's containers and volumes.
 */

const RUN = `${process.pid}-${Date.now().toString(36)}`;
const LAB_A = `esc-a-${RUN}`;
const LAB_B = `esc-b-${RUN}`;
/** Lab b's operator, and one whose scope also has a name pattern. */
const LAB_B_TOKEN = 'lab-b-secret-token-0000006';
const PATTERNED_TOKEN = 'patterned-secret-token-007';
const PATTERN_PREFIX = `pgt-pat-${RUN}`;

const server = await startTestServer({
  AUTH_TOKENS: JSON.stringify([
    ...(JSON.parse(authTokens(LAB_A)) as object[]),
    { id: 'lab-b', role: 'operator', token: LAB_B_TOKEN, scope: { labels: [`lab=${LAB_B}`] } },
    { id: 'patterned', role: 'operator', token: PATTERNED_TOKEN, scope: { name: `${PATTERN_PREFIX}-*`, labels: [`lab=${LAB_A}`] } },
  ]),
});

/** The engine itself: to look at the volumes, to plant a container no server would create, and to clean up. */
const docker = createDockerClient(selectEngine(process.env.DOCKER_HOST));
const containers: string[] = [];
const volumes: string[] = [];
afterAll(async () => {
  const gone = (error: { statusCode?: number }) => {
    if (error.statusCode !== 404 && error.statusCode !== 409) throw error;
  };
  await Promise.all(containers.map((name) => docker.getContainer(name).remove({ force: true }).catch(gone)));
  await Promise.all(volumes.map((name) => docker.getVolume(name).remove().catch(gone)));
});

const volumeName = (lab: string) => {
  const name = `vol-${lab}-${RUN}-${volumes.length}`;
  volumes.push(name);
  return name;
};

const send = <T, V>(token: string, document: TypedDocumentNode<T, V>, variables: V): Promise<Outcome<T>> =>
  transports.http<T>(server.url, token, print(document), variables);

/** Creates a sleeping busybox container as `token` and removes it after the file. */
function createAs(token: string, input: Partial<CreateContainerInput>) {
  const name = input.name ?? uniqueName('esc');
  containers.push(name);
  return send(token, CreateContainer, {
    input: { image: BUSYBOX_IMAGE, command: 'sleep 600', ...input, name, labels: [{ key: TEST_LABEL, value: '1' }] },
  });
}

async function createOkAs(token: string, input: Partial<CreateContainerInput> = {}) {
  const result = await createAs(token, input);
  if (!result.data) throw new Error(`create failed: ${JSON.stringify(result.errors)}`);
  return result.data.createContainer;
}

const StartEvents = graphql(`
  subscription StartEvents($containers: [String!]) {
    containerEvents(containers: $containers, actions: ["start"]) {
      ... on ContainerEvent {
        id
      }
    }
  }
`);

const messages = (result: Outcome<unknown>) => (result.errors ?? []).map((e) => e.message);
/** An ID, or the 12-character prefix that already picks one container. */
const ANY_ID = /[0-9a-f]{12,}/;

describe('named volumes', async () => {
  const volB = volumeName('b');
  const labB = await createOkAs(LAB_B_TOKEN, { volumes: [{ source: volB, target: '/data' }] });
  const wrote = await send(LAB_B_TOKEN, Exec, { container: labB.name, input: { command: 'echo lab-b-secret > /data/secret' } });

  it('are created for a scoped token with its labels, and it may mount its own again', async () => {
    expect(wrote.data?.exec.exitCode).toBe(0);
    expect((await docker.getVolume(volB).inspect()).Labels).toMatchObject({ lab: LAB_B });
    const volA = volumeName('a');
    const first = await createOkAs(TOKENS.scoped, { volumes: [{ source: volA, target: '/mine' }] });
    expect((await docker.getVolume(volA).inspect()).Labels).toMatchObject({ lab: LAB_A });
    await send(TOKENS.scoped, Exec, { container: first.name, input: { command: 'echo kept > /mine/note' } });
    const second = await createOkAs(TOKENS.scoped, { volumes: [{ source: volA, target: '/again', readOnly: true }] });
    const read = await send(TOKENS.scoped, Exec, { container: second.name, input: { command: 'cat /again/note' } });
    expect(read.data?.exec.stdout).toBe('kept\n');
  });

  it("are NOT_FOUND to another lab's token, worded like a container out of scope (GraphQL)", async () => {
    const name = uniqueName('steal');
    const steal = await createAs(TOKENS.scoped, { name, volumes: [{ source: volB, target: '/steal' }] });
    expect(codes(steal)).toEqual(['NOT_FOUND']);
    expect(messages(steal)).toEqual([`No such volume: ${volB}`]);
    expect(codes(await sendAs(server.url, 'http', 'admin', ContainerQuery, { ref: name }))).toEqual(['NOT_FOUND']);
  });

  it("are NOT_FOUND to another lab's token (REST)", async () => {
    const name = uniqueName('steal');
    containers.push(name);
    const answer = await restClient(server, TOKENS.scoped)('POST', '/containers', {
      image: BUSYBOX_IMAGE,
      name,
      command: 'sleep 600',
      volumes: { [volB]: '/steal' },
    });
    expectError(answer, 404, 'PodmanAPIError');
    expect(answer.body.error.message).toBe(`No such volume: ${volB}`);
  });

  it('are NOT_FOUND when their name is outside the scope, whether or not they exist', async () => {
    const outsidePattern = volumeName('a');
    const name = `${PATTERN_PREFIX}-c`;
    for (const source of [outsidePattern, volB]) {
      const result = await createAs(PATTERNED_TOKEN, { name, volumes: [{ source, target: '/v' }] });
      expect(messages(result)).toEqual([`No such volume: ${source}`]);
    }
    await expect(docker.getVolume(outsidePattern).inspect()).rejects.toMatchObject({ statusCode: 404 });
    const inside = `${PATTERN_PREFIX}-vol`;
    volumes.push(inside);
    expect((await createOkAs(PATTERNED_TOKEN, { name, volumes: [{ source: inside, target: '/v' }] })).state).toBe('RUNNING');
    expect((await docker.getVolume(inside).inspect()).Labels).toMatchObject({ lab: LAB_A });
  });

  it('may not share one target (BAD_USER_INPUT), on GraphQL and REST', async () => {
    const [one, two] = [volumeName('a'), volumeName('a')];
    const twice = await createAs(TOKENS.scoped, { volumes: [{ source: one, target: '/x' }, { source: two, target: '/x' }] });
    expect(codes(twice)).toEqual(['BAD_USER_INPUT']);
    const body = { image: BUSYBOX_IMAGE, name: uniqueName('twice'), volumes: { [one]: '/x', [two]: { bind: '/x', mode: 'ro' } } };
    expectError(await restClient(server, TOKENS.scoped)('POST', '/containers', body), 400, 'ValidationError');
  });
});

describe('container names and references', async () => {
  const victim = await createOkAs(LAB_B_TOKEN);
  const shortId = victim.id.slice(0, 12);

  it("answers a taken name with CONFLICT that names no container's ID, on GraphQL and REST", async () => {
    const taken = await send(TOKENS.scoped, CreateContainer, { input: { image: BUSYBOX_IMAGE, name: victim.name, command: 'sleep 1' } });
    expect(codes(taken)).toEqual(['CONFLICT']);
    expect(messages(taken)).toEqual([`The name ${victim.name} is in use`]);
    const rest = await restClient(server, TOKENS.scoped)('POST', '/containers', { image: BUSYBOX_IMAGE, name: victim.name });
    expectError(rest, 409, 'PodmanAPIError');
    expect(rest.body.error.message).toBe(`The name ${victim.name} is in use`);
    expect(rest.body.error.message).not.toMatch(ANY_ID);
  });

  it('refuses names that read as an ID, and one-character names (BAD_USER_INPUT), on GraphQL and REST', async () => {
    for (const name of [shortId, victim.id, `${shortId}abcd`, 'x']) {
      expect(codes(await createAs(TOKENS.scoped, { name })), name).toEqual(['BAD_USER_INPUT']);
      const rest = await restClient(server, TOKENS.scoped)('POST', '/containers', { image: BUSYBOX_IMAGE, name, command: 'sleep 600' });
      expectError(rest, 400, 'ValidationError');
    }
    // A character no ID has makes it a name like any other.
    expect((await createOkAs(TOKENS.scoped, { name: `${shortId}-mine` })).state).toBe('RUNNING');
  });

  describe('with a container named like the short ID planted on the engine directly', async () => {
    // What a scoped token could create before names were checked: in lab a, named with lab b's short ID.
    containers.push(shortId);
    const planted = await docker.createContainer({
      name: shortId,
      Image: BUSYBOX_IMAGE,
      Cmd: ['sleep', '600'],
      Labels: { lab: LAB_A, [TEST_LABEL]: '1' },
      HostConfig: { Init: true },
    });
    await planted.start();

    it('reads an ID-like reference only as an ID: GraphQL finds the right container, or none in scope', async () => {
      expect((await sendAs(server.url, 'http', 'admin', ContainerQuery, { ref: shortId })).data?.container.id).toBe(victim.id);
      expect(codes(await sendAs(server.url, 'http', 'scoped', ContainerQuery, { ref: shortId }))).toEqual(['NOT_FOUND']);
      const exec = await sendAs(server.url, 'http', 'admin', Exec, { container: shortId, input: { command: 'true' } });
      expect(exec.data?.exec.containerId).toBe(victim.id);
      // The planted container is still reachable by its own ID.
      expect((await sendAs(server.url, 'http', 'scoped', ContainerQuery, { ref: planted.id })).data?.container.name).toBe(shortId);
    });

    it("lands an admin's REST file write by 12-character id in the container that has that id", async () => {
      const listed = (await restClient(server, TOKENS.admin)('GET', '/containers')).body.containers as Array<{ id: string; name: string }>;
      expect(listed.find((c) => c.name === victim.name)?.id).toBe(shortId);
      const written = await restClient(server, TOKENS.admin)('POST', `/containers/${shortId}/files`, { dest_path: '/tmp/for-lab-b', content: 'grade: A' });
      expect(written.status, JSON.stringify(written.body)).toBe(200);
      const read = await sendAs(server.url, 'http', 'admin', ReadFile, { ref: victim.id, path: '/tmp/for-lab-b' });
      expect(read.data?.container.file.content).toBe('grade: A');
      expect(codes(await sendAs(server.url, 'http', 'admin', FileMeta, { ref: planted.id, path: '/tmp/for-lab-b' }))).toEqual(['NOT_FOUND']);
    });

    it('filters events by an ID-like reference only as an ID', async () => {
      const client = createClient({ url: `${server.url.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: bearer(TOKENS.admin) });
      onTestFinished(() => client.dispose());
      const watch = watchWs(client, StartEvents, { containers: [shortId] });
      const ids = (events: StartEventsSubscription[]) => events.map((e) => ('id' in e.containerEvents ? e.containerEvents.id : null));
      const victimStarts = (count: number) => (events: StartEventsSubscription[]) => ids(events).filter((id) => id === victim.id).length >= count;
      // The first start seen says the stream is live; the planted container's restart then comes before the victim's second.
      await docker.getContainer(victim.id).restart({ t: 0 });
      await watch.until(victimStarts(1));
      await docker.getContainer(planted.id).restart({ t: 0 });
      await docker.getContainer(victim.id).restart({ t: 0 });
      await watch.until(victimStarts(2));
      expect(ids(watch.events)).not.toContain(planted.id);
    });

    it('reads a reference that is not ID-like only as an exact name, never as an ID prefix', async () => {
      const prefix = victim.id.slice(0, 8);
      expect(codes(await sendAs(server.url, 'http', 'admin', ContainerQuery, { ref: prefix }))).toEqual(['NOT_FOUND']);
      expect(codes(await sendAs(server.url, 'http', 'admin', Exec, { container: prefix, input: { command: 'true' } }))).toEqual(['NOT_FOUND']);
      expectError(await restClient(server, TOKENS.admin)('POST', `/containers/${prefix}/files`, { dest_path: '/tmp/x', content: 'x' }), 404);
    });
  });
});

describe('file content', async () => {
  const target = await createOkAs(TOKENS.admin, { image: DEBIAN_IMAGE });

  it('is FORBIDDEN to a viewer on GraphQL, over HTTP and WebSocket', async () => {
    for (const transport of ['http', 'ws'] as const) {
      const result = await sendAs(server.url, transport, 'viewer', ReadFile, { ref: target.name, path: '/etc/shadow' });
      expect(codes(result), transport).toEqual(['FORBIDDEN']);
      expect(JSON.stringify(result)).not.toContain('root:');
    }
    // The rest of the container stays the viewer's to watch.
    expect((await sendAs(server.url, 'http', 'viewer', ContainerQuery, { ref: target.name })).data?.container.id).toBe(target.id);
  });

  it('has no REST route a viewer may use: reading is no method there, writing is FORBIDDEN', async () => {
    const viewer = restClient(server, TOKENS.viewer);
    expectError(await viewer('GET', `/containers/${target.name}/files`), 405);
    expectError(await viewer('POST', `/containers/${target.name}/files`, { dest_path: '/etc/shadow', content: '' }), 403, 'ForbiddenError');
  });

  it('is read by an operator', async () => {
    const result = await sendAs(server.url, 'http', 'operator', ReadFile, { ref: target.name, path: '/etc/shadow' });
    expect(result.data?.container.file.content).toMatch(/^root:/);
  });
});
