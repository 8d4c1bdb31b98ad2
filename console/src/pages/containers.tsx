import {
  ContainerStatsDocument,
  CreateContainerDocument,
  ImagesDocument,
  RemoveContainerDocument,
  RestartContainerDocument,
  StartContainerDocument,
  StopContainerDocument,
  type ContainerStatsSubscription,
} from 'podgraph/client';
import { useEffect, useState } from 'preact/hooks';
import { run } from '../api';
import { useLiveContainers, type Container } from '../containers';
import { bytes, duration } from '../format';
import { keepSubscribed } from '../live';
import { useNow } from '../now';
import { containerHref } from '../routes';
import { useSession } from '../session';

/** Rows shown at most; a longer list asks for a narrower filter rather than growing the page. */
const MAX_ROWS = 200;

type Stats = Extract<ContainerStatsSubscription['containerStats'], { __typename: 'ContainerStats' }>;

/** "a=1, b" → ["a=1", "b"] */
const labelList = (text: string) =>
  text
    .split(',')
    .map((label) => label.trim())
    .filter(Boolean);

export function ContainersPage() {
  const { api, canAct } = useSession();
  const [nameContains, setNameContains] = useState('');
  const [labels, setLabels] = useState('');
  const [problem, setProblem] = useState<string | undefined>();
  const live = useLiveContainers(api.client, { nameContains: nameContains || undefined, labels: labelList(labels) });
  const now = useNow();

  /** Runs an action; its failure shows above the list (success shows in the list, through its event). */
  const act = (action: () => Promise<unknown>) => {
    setProblem(undefined);
    action().catch((error: Error) => setProblem(error.message));
  };

  return (
    <section class="containers">
      <h1>Containers</h1>
      <div class="toolbar">
        <input aria-label="Filter by name" placeholder="name contains" value={nameContains} onInput={(event) => setNameContains(event.currentTarget.value)} />
        <input aria-label="Filter by label" placeholder="labels: key or key=value, comma-separated" value={labels} onInput={(event) => setLabels(event.currentTarget.value)} />
      </div>
      {canAct && <CreateForm onCreate={(input) => act(() => run(api.client, CreateContainerDocument, { input }, 'mutation'))} />}
      {(problem ?? live.problem) && <p class="error">{problem ?? live.problem}</p>}
      {live.reconnecting && <p class="status">Connection lost: reconnecting…</p>}
      <table>
        <thead>
          <tr>
            <th>name</th>
            <th>state</th>
            <th>image</th>
            <th>uptime</th>
            <th>CPU</th>
            <th>memory</th>
            {canAct && <th>actions</th>}
          </tr>
        </thead>
        <tbody>
          {live.containers.slice(0, MAX_ROWS).map((container) => (
            <ContainerRow key={container.id} container={container} now={now} canAct={canAct} act={act} />
          ))}
        </tbody>
      </table>
      {live.containers.length > MAX_ROWS && <p class="status">{live.containers.length - MAX_ROWS} more: narrow the filter to see them.</p>}
      {live.containers.length === 0 && !live.problem && <p class="status">No containers{nameContains || labels ? ' match the filter' : ''}.</p>}
    </section>
  );
}

/** The latest CPU and memory sample of a running container. */
function useStats(container: string, running: boolean): Stats | undefined {
  const { api } = useSession();
  const [stats, setStats] = useState<Stats | undefined>();
  useEffect(() => {
    setStats(undefined);
    if (!running) return;
    return keepSubscribed(api.client, ContainerStatsDocument, () => ({ container }), {
      data: ({ containerStats }) => containerStats.__typename === 'ContainerStats' && setStats(containerStats),
      failed: () => setStats(undefined),
    });
  }, [api, container, running]);
  return stats;
}

function ContainerRow({ container, now, canAct, act }: { container: Container; now: number; canAct: boolean; act(action: () => Promise<unknown>): void }) {
  const { api } = useSession();
  const running = container.state === 'RUNNING';
  const stats = useStats(container.name, running);
  const [confirmRemove, setConfirmRemove] = useState(false);
  const lifecycle = { start: StartContainerDocument, stop: StopContainerDocument, restart: RestartContainerDocument };
  const mutate = (action: keyof typeof lifecycle) =>
    act(() => run<unknown, { container: string }>(api.client, lifecycle[action], { container: container.name }, 'mutation'));

  useEffect(() => {
    if (!confirmRemove) return;
    const timer = setTimeout(() => setConfirmRemove(false), 4000);
    return () => clearTimeout(timer);
  }, [confirmRemove]);

  return (
    <tr data-container={container.name}>
      <td>
        <a href={containerHref(container.name)}>{container.name}</a>
      </td>
      <td>
        <span class={`state state-${container.state.toLowerCase()}`}>{container.state.toLowerCase()}</span>
      </td>
      <td class="image">{container.image}</td>
      <td>{running && container.startedAt ? duration(now - Date.parse(container.startedAt)) : ''}</td>
      <td>{stats?.cpuPercent != null ? `${stats.cpuPercent.toFixed(1)} %` : ''}</td>
      <td>{stats?.memoryUsedBytes != null ? bytes(stats.memoryUsedBytes) : ''}</td>
      {canAct && (
        <td class="actions">
          {!running && <button onClick={() => mutate('start')}>Start</button>}
          {running && <button onClick={() => mutate('stop')}>Stop</button>}
          {running && <button onClick={() => mutate('restart')}>Restart</button>}
          {confirmRemove ? (
            <button class="danger" onClick={() => act(() => run(api.client, RemoveContainerDocument, { container: container.name, force: true }, 'mutation'))}>
              Really remove
            </button>
          ) : (
            <button onClick={() => setConfirmRemove(true)}>Remove</button>
          )}
        </td>
      )}
    </tr>
  );
}

interface NewContainer {
  name: string;
  image: string;
  command?: string;
  labels: Array<{ key: string; value: string }>;
}

function CreateForm({ onCreate }: { onCreate(input: NewContainer): void }) {
  const { api } = useSession();
  const [images, setImages] = useState<string[]>([]);
  const [name, setName] = useState('');
  const [image, setImage] = useState('');
  const [command, setCommand] = useState('sleep infinity');
  const [labels, setLabels] = useState('');

  useEffect(() => {
    run(api.client, ImagesDocument, {}).then(
      (data) => {
        const tags = data.images.flatMap((i) => i.tags).sort();
        setImages(tags);
        setImage((current) => current || tags[0] || '');
      },
      () => setImages([]),
    );
  }, [api]);

  return (
    <form
      class="create"
      onSubmit={(event) => {
        event.preventDefault();
        onCreate({
          name: name.trim(),
          image,
          command: command.trim() || undefined,
          labels: labelList(labels).map((label) => {
            const [key, value] = label.split(/=(.*)/s);
            return { key: key!, value: value ?? '' };
          }),
        });
      }}
    >
      <input aria-label="New container name" placeholder="name" required value={name} onInput={(event) => setName(event.currentTarget.value)} />
      <select aria-label="Image" value={image} onChange={(event) => setImage(event.currentTarget.value)}>
        {images.map((tag) => (
          <option value={tag}>{tag}</option>
        ))}
      </select>
      <input aria-label="Command" placeholder="command" value={command} onInput={(event) => setCommand(event.currentTarget.value)} />
      <input aria-label="Labels" placeholder="labels: key=value, …" value={labels} onInput={(event) => setLabels(event.currentTarget.value)} />
      <button type="submit">Create</button>
    </form>
  );
}
