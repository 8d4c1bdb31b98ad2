import type Docker from 'dockerode';
import { describe, expect, it, onTestFinished } from 'vitest';
import { toState } from '../src/engine/docker/container-model.js';
import { createDockerClient, selectEngine } from '../src/engine/docker/connect.js';
import { ContainerQuery, ContainersQuery, CreateContainer, RemoveContainer, StopContainer } from './documents.js';
import { BUSYBOX_IMAGE, startTestServer, TEST_LABEL, uniqueName } from './kit.js';

/** The engine itself, behind the server's back. */
const docker = createDockerClient(selectEngine(process.env.DOCKER_HOST));

interface Seen {
  id: string;
  name: string;
  state: string;
}

const byId = (a: Seen, b: Seen) => a.id.localeCompare(b.id);

/** A label unique to the test, on every container it makes; they are all removed after it. */
function testLabel(): string {
  const label = `podgraph.index=${uniqueName('run')}`;
  onTestFinished(async () => {
    const left = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [label] }) });
    await Promise.all(left.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
  });
  return label;
}

async function engineList(label: string): Promise<Seen[]> {
  const listed = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [label] }) });
  return listed.map((c) => ({ id: c.Id, name: (c.Names[0] ?? '').replace(/^\//, ''), state: toState(c.State) })).sort(byId);
}

/** A small deterministic generator, so a failing sequence can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

describe('the container index', async () => {
  const server = await startTestServer();
  const index = server.app.services.containerIndex!;
  const synced = () => expect.poll(() => index.synced, { timeout: 30_000, interval: 50 }).toBe(true);

  const serverList = async (label: string): Promise<Seen[]> =>
    (await server.ok(ContainersQuery, { filter: { labels: [label] } })).containers.map(({ id, name, state }) => ({ id, name, state })).sort(byId);

  /** The server's list converges on the engine's: both equal on one look within 5 s. */
  async function converges(label: string): Promise<void> {
    const deadline = Date.now() + 5000;
    for (;;) {
      const engine = await engineList(label);
      const listed = await serverList(label);
      if (JSON.stringify(listed) === JSON.stringify(engine) || Date.now() > deadline) {
        expect(listed).toEqual(engine);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  it('follows changes made behind its back: the list converges on the engine list after each', async () => {
    await synced();
    const label = testLabel();
    const [key, value] = label.split('=') as [string, string];
    const next = random(20261207);
    const pick = <T>(items: T[]) => items[Math.floor(next() * items.length)]!;
    const names: string[] = [];
    const create = async () => {
      const name = uniqueName('ix');
      await docker.createContainer({ Image: BUSYBOX_IMAGE, name, Cmd: ['sleep', '3600'], Labels: { [TEST_LABEL]: '1', [key]: value }, HostConfig: { Init: true } });
      names.push(name);
    };
    const operations: Record<string, (c: Docker.Container, name: string) => Promise<unknown>> = {
      start: (c) => c.start(),
      stop: (c) => c.stop({ t: 0 }),
      kill: (c) => c.kill(),
      pause: (c) => c.pause(),
      unpause: (c) => c.unpause(),
      rename: async (c, name) => {
        const renamed = uniqueName('ix');
        await c.rename({ name: renamed });
        names[names.indexOf(name)] = renamed;
      },
      remove: async (c, name) => {
        await c.remove({ force: true });
        names.splice(names.indexOf(name), 1);
      },
    };

    // Clients list through the server all along; none of them may fail.
    let listing = true;
    let lists = 0;
    const lister = (async () => {
      while (listing) {
        await serverList(label);
        lists++;
        // Paced, so the lists leave the machine's two cores to the engine's work.
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();

    const OPERATIONS = 200;
    let applied = 0;
    for (let i = 0; i < OPERATIONS; i++) {
      if (names.length < 2 || (names.length < 6 && next() < 0.15)) await create();
      else {
        const name = pick(names);
        const operation = pick(Object.keys(operations));
        // Refused for the container's state (pausing a stopped one...): a change that did not happen.
        await operations[operation]!(docker.getContainer(name), name).then(
          () => applied++,
          () => undefined,
        );
      }
      await converges(label);
    }
    listing = false;
    await lister;
    console.log(`${OPERATIONS} operations (${applied} took effect), ${lists} lists meanwhile`);
    expect(applied).toBeGreaterThan(OPERATIONS * 0.3);
    // About 40 s on a loaded two-core machine: room for a slower moment, not a bound on speed.
  }, 90_000);

  it('shows the server its own writes at once', async () => {
    await synced();
    const label = testLabel();
    const [key, value] = label.split('=') as [string, string];
    const name = uniqueName('own');
    const labels = [
      { key: TEST_LABEL, value: '1' },
      { key, value },
    ];
    const { createContainer } = await server.ok(CreateContainer, { input: { image: BUSYBOX_IMAGE, name, command: 'sleep 3600', labels } });
    // From the index, not the engine: it is in there before the answer left.
    expect(index.lookup(name)).toMatchObject({ id: createContainer.id, state: 'RUNNING' });
    expect((await serverList(label)).map((c) => c.name)).toEqual([name]);
    expect((await server.ok(ContainerQuery, { ref: name })).container).toMatchObject({ id: createContainer.id, state: 'RUNNING' });
    expect((await server.ok(ContainerQuery, { ref: createContainer.id.slice(0, 12) })).container.name).toBe(name);

    await server.ok(StopContainer, { container: name, timeoutSeconds: 1 });
    expect(index.lookup(name)?.state).toBe('EXITED');
    expect((await serverList(label)).map((c) => c.state)).toEqual(['EXITED']);

    await server.ok(RemoveContainer, { container: name });
    expect(index.lookup(name)).toBeUndefined();
    expect(await serverList(label)).toEqual([]);
    expect(await server.errorCode(ContainerQuery, { ref: name })).toBe('NOT_FOUND');
  });

  it('resyncs from a full list after its event stream is cut', async () => {
    await synced();
    const label = testLabel();
    const [key, value] = label.split('=') as [string, string];
    const create = async () => {
      const c = await docker.createContainer({ Image: BUSYBOX_IMAGE, name: uniqueName('cut'), Cmd: ['sleep', '3600'], Labels: { [TEST_LABEL]: '1', [key]: value }, HostConfig: { Init: true } });
      await c.start();
      return c;
    };
    const kept = await create();
    const removed = await create();

    index.reconnect();
    expect(index.synced).toBe(false);
    // Changes while it lists and inspects everything again; meanwhile the engine answers lists.
    const gone = removed.remove({ force: true });
    const added = await create();
    await gone;
    await converges(label);

    await synced();
    await converges(label);
    expect(index.list([label]).map((c) => c.id).sort()).toEqual([kept.id, added.id].sort());
  });
});
