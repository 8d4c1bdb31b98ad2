import { ContainerTerminalsDocument, OpenTerminalDocument, type TerminalSummaryFragment } from 'podgraph/client';
import { useEffect, useState } from 'preact/hooks';
import { run } from '../api';
import { useSession } from '../session';
import { TerminalView } from './terminal-view';

/** How often the list of a container's terminals is read again: the API has no event for it. */
const LIST_REFRESH_MS = 3000;

/** A container's terminals: join one (watching, or taking over) or open a new one. */
export function Terminals({ container }: { container: string }) {
  const { api, canAct } = useSession();
  const [terminals, setTerminals] = useState<TerminalSummaryFragment[]>([]);
  const [shown, setShown] = useState<{ terminal: TerminalSummaryFragment; control: boolean } | undefined>();
  const [problem, setProblem] = useState<string | undefined>();

  useEffect(() => {
    if (shown) return;
    const refresh = () =>
      run(api.client, ContainerTerminalsDocument, { ref: container }).then(
        (data) => setTerminals(data.container.terminals.filter((t) => t.running)),
        (error: Error) => setProblem(error.message),
      );
    void refresh();
    const timer = setInterval(refresh, LIST_REFRESH_MS);
    return () => clearInterval(timer);
  }, [api, container, shown]);

  const open = () => {
    // Its view, in control, resizes it to the window at once.
    run(api.client, OpenTerminalDocument, { container }, 'mutation').then(
      (data) => setShown({ terminal: data.openTerminal, control: true }),
      (error: Error) => setProblem(error.message),
    );
  };

  if (shown) return <TerminalView key={shown.terminal.id} terminal={shown.terminal} control={shown.control} onClosed={() => setShown(undefined)} />;
  return (
    <section class="terminals">
      {problem && <p class="error">{problem}</p>}
      {canAct && <button onClick={open}>Open a terminal</button>}
      {terminals.length === 0 ? (
        <p class="status">No terminal is open in this container.</p>
      ) : (
        <ul>
          {terminals.map((terminal) => (
            <li data-terminal={terminal.id}>
              {terminal.user ?? 'root'} · {terminal.command?.join(' ') ?? 'login shell'} · {terminal.cols}×{terminal.rows} · {terminal.watchers} watching
              <button onClick={() => setShown({ terminal, control: false })}>Join</button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
