import type { Duplex, Readable } from 'node:stream';
import type Docker from 'dockerode';
import { endedExec } from '../src/engine/docker/exec.js';
import { frameReader } from '../src/engine/docker/frames.js';
import { LineSplitter } from '../src/engine/streams.js';

/**
 * The baselines: what a client does talking to the engine itself with dockerode, in the bench
 * process. Lines are demultiplexed and split with the server's own FrameDecoder and
 * LineSplitter, so both sides do the same work per line.
 */

/** exec create + start + inspect, as any client that wants the exit code must do. */
export async function execBaseline(docker: Docker, id: string, argv: string[]): Promise<number | null> {
  const exec = await docker.getContainer(id).exec({ Cmd: argv, AttachStdout: true, AttachStderr: true });
  const stream = (await exec.start({ hijack: false, stdin: false })) as unknown as Readable;
  const read = frameReader(false);
  await new Promise<void>((resolve, reject) => {
    stream.on('data', (chunk: Buffer) => read(chunk));
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.on('error', reject);
  });
  // The same inspect loop the server uses: Podman may report the exec running for a moment.
  return (await endedExec(exec)).exitCode;
}

/** The last `tail` log lines, demultiplexed and split. */
export async function logsBaseline(docker: Docker, id: string, tail: number): Promise<number> {
  const body = (await docker.getContainer(id).logs({ follow: false, stdout: true, stderr: true, timestamps: true, tail })) as unknown as Buffer;
  const splitters = { stdout: new LineSplitter('stdout'), stderr: new LineSplitter('stderr') };
  let lines = 0;
  for (const frame of frameReader(false)(body)) lines += splitters[frame.stream].push(frame.data).length;
  return lines;
}

/**
 * A dockerode follow stream, demultiplexed and split into lines; `close` ends it. Not awaited:
 * Podman sends the response headers only with the first line.
 */
export function followBaseline(docker: Docker, id: string, tail: number, onLine: (text: string) => void): { close(): void } {
  const controller = new AbortController();
  let stream: Readable | undefined;
  const read = frameReader(false);
  const splitters = { stdout: new LineSplitter('stdout'), stderr: new LineSplitter('stderr') };
  const options = { follow: true, stdout: true, stderr: true, timestamps: true, tail, abortSignal: controller.signal } as const;
  docker.getContainer(id).logs(options).then(
    (body) => {
      stream = body as unknown as Readable;
      if (controller.signal.aborted) stream.destroy();
      stream.on('error', () => undefined);
      stream.on('data', (chunk: Buffer) => {
        for (const frame of read(chunk)) {
          for (const line of splitters[frame.stream].push(frame.data)) {
            // As the server does, lines are asked for with the engine's timestamp and a space first.
            onLine(line.text.slice(line.text.indexOf(' ') + 1));
          }
        }
      });
    },
    () => undefined,
  );
  return {
    close() {
      controller.abort();
      stream?.destroy();
    },
  };
}

/** An interactive process with a pseudo-terminal: raw output, typed input. */
export async function terminalBaseline(docker: Docker, id: string, argv: string[], onOutput: (data: string) => void): Promise<{ type(data: string): void; close(): void }> {
  const exec = await docker.getContainer(id).exec({ Cmd: argv, AttachStdin: true, AttachStdout: true, AttachStderr: true, Tty: true });
  const stream = (await exec.start({ hijack: true, stdin: true, Tty: true })) as unknown as Duplex;
  stream.on('data', (chunk: Buffer) => onOutput(chunk.toString('utf8')));
  stream.on('error', () => undefined);
  return { type: (data) => stream.write(data), close: () => stream.destroy() };
}
