import { ContainerDocument, type ContainerQuery } from 'podgraph/client';
import { useEffect, useState } from 'preact/hooks';
import { run } from '../api';
import { LogView } from '../logs/log-view';
import { containersHref } from '../routes';
import { useSession } from '../session';
import { Terminals } from '../terminal/terminals';

type Tab = 'logs' | 'terminal';

/** One container: its log, live, and its shared terminals. */
export function ContainerPage({ name }: { name: string }) {
  const { api } = useSession();
  const [container, setContainer] = useState<ContainerQuery['container'] | undefined>();
  const [problem, setProblem] = useState<string | undefined>();
  const [tab, setTab] = useState<Tab>('logs');

  useEffect(() => {
    run(api.client, ContainerDocument, { ref: name }).then(
      (data) => setContainer(data.container),
      (error: Error) => setProblem(error.message),
    );
  }, [api, name]);

  return (
    <section class="container-page">
      <nav>
        <a href={containersHref}>Containers</a> / <strong>{name}</strong>
        {container && (
          <span class="facts">
            <span class={`state state-${container.state.toLowerCase()}`}>{container.state.toLowerCase()}</span> {container.image} · {container.command.join(' ')}
          </span>
        )}
      </nav>
      {problem && <p class="error">{problem}</p>}
      <div class="tabs" role="tablist">
        {(['logs', 'terminal'] as const).map((each) => (
          <button role="tab" aria-selected={tab === each} onClick={() => setTab(each)}>
            {each === 'logs' ? 'Logs' : 'Terminal'}
          </button>
        ))}
      </div>
      {tab === 'logs' ? <LogView container={name} /> : <Terminals container={name} />}
    </section>
  );
}
