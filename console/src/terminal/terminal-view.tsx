import { FitAddon } from '@xterm/addon-fit';
import { Terminal as Xterm } from '@xterm/xterm';
import { CloseTerminalDocument, ResizeTerminalDocument, TerminalDocument, TerminalInputDocument, WatchTerminalDocument, type TerminalSummaryFragment } from 'podgraph/client';
import { useEffect, useRef, useState } from 'preact/hooks';
import { run } from '../api';
import { keepSubscribed } from '../live';
import { useSession } from '../session';

/** How often the terminal's record (size, watchers) is read again: the API has no event for it. */
const RECORD_REFRESH_MS = 2000;
/** A window being dragged resizes many times a second; the server hears of the size it settles on. */
const RESIZE_SETTLE_MS = 150;

/**
 * Keys typed into a terminal, sent in order with one request in flight: whatever is typed
 * meanwhile goes in the next one, so fast typing costs few requests (mutations are rate-limited).
 */
function inputSender(send: (data: string) => Promise<unknown>, failed: (error: Error) => void) {
  let queued = '';
  let sending = false;
  const flush = async () => {
    sending = true;
    while (queued) {
      const data = queued;
      queued = '';
      await send(data).catch(failed);
    }
    sending = false;
  };
  return (data: string) => {
    queued += data;
    if (!sending) void flush();
  };
}

/**
 * A shared terminal in xterm.js. Watching, it shows the output at the terminal's own size;
 * in control (taking over), keys go to the terminal and the window's size becomes its size.
 */
export function TerminalView({ terminal: opened, control: startInControl, onClosed }: { terminal: TerminalSummaryFragment; control: boolean; onClosed(): void }) {
  const { api, canAct } = useSession();
  const host = useRef<HTMLDivElement>(null);
  const [record, setRecord] = useState(opened);
  const [control, setControl] = useState(startInControl && canAct);
  const controlRef = useRef(control);
  const [status, setStatus] = useState<string | undefined>();
  const xterm = useRef<{ term: Xterm; fit: FitAddon } | undefined>(undefined);
  const id = opened.id;

  // The terminal and its output, kept across lost connections from the last cursor shown.
  useEffect(() => {
    const term = new Xterm({ fontSize: 13, scrollback: 5000, disableStdin: true, cols: opened.cols, rows: opened.rows });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(host.current!);
    xterm.current = { term, fit };
    let cursor: string | undefined;
    const stop = keepSubscribed(api.client, WatchTerminalDocument, () => ({ id, after: cursor }), {
      data: ({ terminal: event }) => {
        setStatus(undefined);
        if (event.__typename === 'TerminalOutput') {
          cursor = event.cursor;
          term.write(event.data);
        } else if (event.__typename === 'StreamGap') {
          term.write(`\r\n[${event.missed} outputs missed]\r\n`);
        } else {
          term.write(`\r\n[the terminal has ended${event.exitCode != null ? `: exit code ${event.exitCode}` : ''}]\r\n`);
          setRecord((current) => ({ ...current, running: false }));
        }
      },
      failed: setStatus,
      reconnecting: () => setStatus('Connection lost: reconnecting…'),
      resumed: () => setStatus(undefined),
    });
    const send = inputSender(
      (data) => run(api.client, TerminalInputDocument, { id, data }, 'mutation'),
      (error) => setStatus(error.message),
    );
    const typing = term.onData((data) => controlRef.current && send(data));
    return () => {
      stop();
      typing.dispose();
      term.dispose();
      xterm.current = undefined;
    };
  }, [api, id]);

  // Size and watchers: the window's size when in control, else the terminal's as the server has it.
  useEffect(() => {
    controlRef.current = control;
    const { term, fit } = xterm.current!;
    term.options.disableStdin = !control;
    let settle: ReturnType<typeof setTimeout> | undefined;
    const resizeToWindow = () => {
      clearTimeout(settle);
      settle = setTimeout(() => {
        const size = fit.proposeDimensions();
        if (!size || !size.cols || !size.rows) return;
        term.resize(size.cols, size.rows);
        run(api.client, ResizeTerminalDocument, { id, cols: size.cols, rows: size.rows }, 'mutation').then(
          (data) => setRecord(data.resizeTerminal),
          (error: Error) => setStatus(error.message),
        );
      }, RESIZE_SETTLE_MS);
    };
    const observer = new ResizeObserver(() => control && resizeToWindow());
    observer.observe(host.current!);
    if (control) term.focus();
    const refresh = () =>
      run(api.client, TerminalDocument, { id }).then((data) => {
        setRecord(data.terminal);
        if (!controlRef.current && (term.cols !== data.terminal.cols || term.rows !== data.terminal.rows)) term.resize(data.terminal.cols, data.terminal.rows);
      }, (error: Error) => setStatus(error.message));
    void refresh();
    const timer = setInterval(refresh, RECORD_REFRESH_MS);
    return () => {
      clearTimeout(settle);
      observer.disconnect();
      clearInterval(timer);
    };
  }, [api, id, control]);

  return (
    <section class="terminal">
      <div class="toolbar">
        <span data-testid="terminal-size">
          {record.cols}×{record.rows}
        </span>
        <span data-testid="terminal-watchers">
          {record.watchers} watching
        </span>
        <span>{record.running ? (control ? 'you type here' : 'watching') : 'ended'}</span>
        {canAct && record.running && (
          <button onClick={() => setControl(!control)} aria-pressed={control}>
            {control ? 'Watch only' : 'Take over'}
          </button>
        )}
        {canAct && record.running && (
          <button onClick={() => run(api.client, CloseTerminalDocument, { id }, 'mutation').catch((error: Error) => setStatus(error.message))}>Close terminal</button>
        )}
        <button onClick={onClosed}>Leave</button>
      </div>
      {status && <p class="status">{status}</p>}
      <div class="xterm-host" ref={host} data-testid="terminal" />
    </section>
  );
}
