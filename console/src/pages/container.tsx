import { ContainerDocument, type ContainerQuery } from 'podgraph/client';
import { useEffect, useState } from 'preact/hooks';
import { run } from '../api';
import { Files } from '../files/files';
import { History } from '../history/history';
import { LogView } from '../logs/log-view';
import { containersHref } from '../routes';
import { useSession } from '../session';
import { Terminals } from '../terminal/terminals';

const TABS = { logs: 'Logs', terminal: 'Terminal', history: 'History', files: 'Files' } as const;
type Tab = keyof typeof TABS;

/** One container: its log, live, its shared terminals, its history and (not for a viewer or a student: files are read as root) its files. */
export function ContainerPage({ name }: { name: string }) {
  const { api, canAct, account } = useSession();
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
        {(Object.keys(TABS) as Tab[])
          .filter((each) => each !== 'files' || (canAct && account === null))
          .map((each) => (
            <button role="tab" aria-selected={tab === each} onClick={() => setTab(each)}>
              {TABS[each]}
            </button>
          ))}
      </div>
      {tab === 'logs' && <LogView container={name} />}
      {tab === 'terminal' && <Terminals container={name} />}
      {tab === 'history' && <History container={name} />}
      {tab === 'files' && <Files container={name} />}
    </section>
  );
}
