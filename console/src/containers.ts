import type { Client } from '@urql/core';
import { ContainerDocument, ContainerEventsDocument, ContainersDocument, type ContainerFilter, type ContainerSummaryFragment } from 'podgraph/client';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, run } from './api';
import { keepSubscribed } from './live';

export type Container = ContainerSummaryFragment;

/** The server's filter rule, for containers an event brings in: name substring (any case), and every "key" or "key=value". */
export function matches(container: Container, filter: ContainerFilter): boolean {
  const name = filter.nameContains?.toLowerCase();
  if (name && !container.name.toLowerCase().includes(name)) return false;
  return (filter.labels ?? []).every((wanted) => {
    const [key, value] = wanted.split(/=(.*)/s);
    return container.labels.some((label) => label.key === key && (value === undefined || label.value === value));
  });
}

export interface LiveContainers {
  containers: Container[];
  problem?: string;
  reconnecting: boolean;
}

/**
 * The containers that match `filter`, kept current by containerEvents: each event has its
 * container read again (gone: dropped). A lost connection or a gap reads the whole list again,
 * as events may have been missed.
 */
export function useLiveContainers(client: Client, filter: ContainerFilter): LiveContainers {
  const [byId, setById] = useState(new Map<string, Container>());
  const [problem, setProblem] = useState<string | undefined>();
  const [reconnecting, setReconnecting] = useState(false);
  const filterKey = JSON.stringify(filter);

  useEffect(() => {
    let ended = false;
    /** The latest read asked for each container, so an older answer arriving late is ignored. */
    const latestRead = new Map<string, number>();
    let reads = 0;
    const update = (change: (next: Map<string, Container>) => void) =>
      setById((current) => {
        const next = new Map(current);
        change(next);
        return next;
      });

    const readAll = () =>
      run(client, ContainersDocument, { filter }).then(
        ({ containers }) => {
          if (ended) return;
          setProblem(undefined);
          setById(new Map(containers.map((c) => [c.id, c])));
        },
        (error: Error) => !ended && setProblem(error.message),
      );

    const readOne = (id: string) => {
      const read = ++reads;
      latestRead.set(id, read);
      run(client, ContainerDocument, { ref: id }).then(
        ({ container }) => {
          if (ended || latestRead.get(id) !== read) return;
          update((next) => (matches(container, filter) ? next.set(id, container) : next.delete(id)));
        },
        (error: Error) => {
          if (ended || latestRead.get(id) !== read) return;
          if (error instanceof ApiError && error.code === 'NOT_FOUND') update((next) => next.delete(id));
          else setProblem(error.message);
        },
      );
    };

    // Events first, then the list, so nothing that happens in between goes unheard.
    const stop = keepSubscribed(client, ContainerEventsDocument, () => ({}), {
      data: ({ containerEvents: event }) => {
        if (event.__typename === 'StreamGap') return void readAll();
        if (event.state === 'REMOVED') update((next) => next.delete(event.id));
        else readOne(event.id);
      },
      failed: setProblem,
      reconnecting: () => setReconnecting(true),
      resumed: () => {
        setReconnecting(false);
        void readAll();
      },
    });
    void readAll();
    return () => {
      ended = true;
      stop();
    };
  }, [client, filterKey]);

  const containers = [...byId.values()].sort((a, b) => a.name.localeCompare(b.name));
  return { containers, problem, reconnecting };
}
