import { Terminal as Xterm } from '@xterm/xterm';
import { ContainerRecordingsDocument, RecordingCastDocument, type ContainerRecordingsQuery } from 'podgraph/client';
import { useEffect, useRef, useState } from 'preact/hooks';
import { run } from '../api';
import { commandLine, elapsed, timestamp } from '../format';
import { useSession } from '../session';

type Recording = ContainerRecordingsQuery['container']['recordings'][number];

/** A recording as asciicast v2 has it: the size it opened with, then [seconds, kind, data] events. */
interface Cast {
  cols: number;
  rows: number;
  events: Array<[number, string, string]>;
}

function parseCast(text: string): Cast {
  const [header, ...events] = text.trimEnd().split('\n');
  const { width, height } = JSON.parse(header!) as { width: number; height: number };
  return { cols: width, rows: height, events: events.map((line) => JSON.parse(line) as [number, string, string]) };
}

const SPEEDS = [1, 4, 16];

/** A container's terminal recordings, newest first, each replayed in the page on demand. */
export function Recordings({ container }: { container: string }) {
  const { api } = useSession();
  const [recordings, setRecordings] = useState<Recording[] | undefined>();
  const [problem, setProblem] = useState<string | undefined>();
  const [playing, setPlaying] = useState<string | undefined>();

  useEffect(() => {
    run(api.client, ContainerRecordingsDocument, { container }).then(
      (data) => setRecordings(data.container.recordings),
      (error: Error) => setProblem(error.message),
    );
  }, [api, container]);

  return (
    <>
      <h2>Terminal recordings</h2>
      {problem && <p class="error">{problem}</p>}
      <table data-testid="recordings">
        <tbody>
          {recordings?.map((recording) => (
            <tr key={recording.id} data-recording={recording.id}>
              <td>{timestamp(recording.startedAt)}</td>
              <td>{recording.command ? commandLine(recording.command) : 'login shell'}</td>
              <td>{recording.user ?? 'default user'}</td>
              <td>{recording.caller}</td>
              <td>{recording.endedAt ? elapsed(Date.parse(recording.endedAt) - Date.parse(recording.startedAt)) : 'running'}</td>
              <td>
                <button class="link" onClick={() => setPlaying(recording.id)}>
                  Replay
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {recordings?.length === 0 && <p class="status">No terminal was recorded in this container.</p>}
      {playing && <Player key={playing} id={playing} onClose={() => setPlaying(undefined)} />}
    </>
  );
}

/** Replays a recording in xterm.js at its own pace, faster, or straight to its end. */
function Player({ id, onClose }: { id: string; onClose(): void }) {
  const { api } = useSession();
  const host = useRef<HTMLDivElement>(null);
  const [cast, setCast] = useState<Cast | undefined>();
  const [problem, setProblem] = useState<string | undefined>();
  const [speed, setSpeed] = useState(1);
  const [position, setPosition] = useState(0);
  const [toEnd, setToEnd] = useState(false);
  const term = useRef<Xterm | undefined>(undefined);

  useEffect(() => {
    run(api.client, RecordingCastDocument, { id }).then(
      (data) => setCast(parseCast(data.recording.cast)),
      (error: Error) => setProblem(error.message),
    );
  }, [api, id]);

  useEffect(() => {
    if (!cast) return;
    const xterm = new Xterm({ fontSize: 13, disableStdin: true, cols: cast.cols, rows: cast.rows });
    xterm.open(host.current!);
    term.current = xterm;
    return () => xterm.dispose();
  }, [cast]);

  // Plays from the event at `position` on; a change of speed or a skip goes on from where it is.
  useEffect(() => {
    if (!cast || !term.current || position >= cast.events.length) return;
    const show = (index: number) => {
      const [, kind, data] = cast.events[index]!;
      if (kind === 'o') term.current!.write(data);
      if (kind === 'r') term.current!.resize(...(data.split('x').map(Number) as [number, number]));
    };
    if (toEnd) {
      for (let index = position; index < cast.events.length; index++) show(index);
      setPosition(cast.events.length);
      return;
    }
    const from = cast.events[position - 1]?.[0] ?? 0;
    const timer = setTimeout(() => {
      show(position);
      setPosition(position + 1);
    }, ((cast.events[position]![0] - from) * 1000) / speed);
    return () => clearTimeout(timer);
  }, [cast, position, speed, toEnd]);

  const length = cast?.events.at(-1)?.[0] ?? 0;
  const at = cast && position > 0 ? cast.events[position - 1]![0] : 0;
  return (
    <div class="player" data-testid="player">
      <div class="toolbar">
        <span class="muted">
          {at.toFixed(1)} s of {length.toFixed(1)} s
        </span>
        {SPEEDS.map((each) => (
          <button aria-pressed={speed === each} onClick={() => setSpeed(each)}>
            {each}×
          </button>
        ))}
        <button onClick={() => setToEnd(true)} disabled={!cast || position >= cast.events.length}>
          To the end
        </button>
        <button onClick={onClose}>Close</button>
      </div>
      {problem && <p class="error">{problem}</p>}
      <div class="xterm-host" ref={host} />
    </div>
  );
}
