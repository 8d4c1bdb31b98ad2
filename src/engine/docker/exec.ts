import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { fromEngineError } from '../../errors.js';
import { killMarkedArgv, markerEnv } from '../exec-marker.js';
import type { ExecOutcome, ExecSpec } from '../port.js';
import { OutputCollector } from '../streams.js';
import { callEngine } from './call.js';
import { frameReader } from './frames.js';
import { startFailureOf } from './start-failure.js';

/** Runs a process and collects its output up to a cap (ContainerEngine.exec). */
export async function runExec(docker: Docker, id: string, spec: ExecSpec, signal?: AbortSignal): Promise<ExecOutcome> {
  const marker = randomUUID();
  const container = docker.getContainer(id);
  const exec = await callEngine(() =>
    container.exec({
      Cmd: spec.argv,
      User: spec.user,
      WorkingDir: spec.workdir,
      Env: [...(spec.env ?? []), markerEnv(marker)],
      AttachStdin: spec.stdin !== undefined,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
    }),
  );
  const startedAt = new Date();
  const stream = (await callEngine(() =>
    exec.start({ hijack: spec.stdin !== undefined, stdin: spec.stdin !== undefined, Tty: false }),
  )) as unknown as NodeJS.ReadWriteStream & Readable;
  spec.onStarted?.();
  const collector = new OutputCollector(spec.maxOutputBytes);
  const read = frameReader(false);
  let killed = false;

  const finished = new Promise<void>((resolve, reject) => {
    stream.on('data', (chunk: Buffer) => read(chunk).forEach((frame) => collector.push(frame)));
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.on('error', (error) => (killed ? resolve() : reject(error)));
  });
  const onAbort = () => {
    killed = true;
    void killMarked(docker, id, marker, spec.user).finally(() => stream.destroy());
  };
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });

  try {
    if (spec.stdin !== undefined) {
      stream.write(spec.stdin);
      stream.end();
    }
    await finished;
  } catch (error) {
    throw fromEngineError(error);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  const captured = collector.finish();
  const { exitCode, containerId } = killed ? { exitCode: null, containerId: null } : await endedExec(exec);
  const failure = startFailureOf(exitCode, captured);
  return {
    containerId,
    ...(failure ? { exitCode: failure.exitCode, stdout: '', stderr: failure.message, output: failure.message, truncated: false } : { exitCode, ...captured }),
    killed,
    startedAt,
    finishedAt: new Date(),
  };
}

/**
 * Kills every process in the container whose environment carries the given exec marker.
 * `user` must be the one the exec ran as: without CAP_SYS_PTRACE, which containers lack,
 * even root cannot read another user's /proc/PID/environ. False when the engine could not
 * be asked: the processes may still run.
 */
export async function killMarked(docker: Docker, id: string, marker: string, user = '0'): Promise<boolean> {
  try {
    const exec = await docker.getContainer(id).exec({
      Cmd: killMarkedArgv(marker),
      User: user,
      AttachStdout: true,
      AttachStderr: true,
    });
    const stream = await exec.start({ hijack: false, stdin: false });
    await new Promise<void>((resolve) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', () => resolve());
      stream.resume();
    });
    return true;
  } catch (error) {
    // A container that is gone or stopped took its processes with it.
    const { code } = fromEngineError(error);
    return code === 'NOT_FOUND' || code === 'CONFLICT';
  }
}

/**
 * Exit code (null if the engine never tells) and container of an exec whose output has ended;
 * `running` when the engine still says it runs, i.e. only the connection to it ended.
 */
export async function endedExec(
  exec: Docker.Exec,
  signal?: AbortSignal,
): Promise<{ exitCode: number | null; containerId: string | null; running: boolean }> {
  let containerId: string | null = null;
  let running = false;
  // Podman can report the exec as still running for a moment after its output ends, longer on
  // a loaded machine; only past that moment does "running" mean the connection broke.
  for (let attempt = 0; attempt < 75; attempt++) {
    const info = await callEngine(() => exec.inspect({ abortSignal: signal }));
    containerId = info.ContainerID || null;
    running = info.Running;
    if (!info.Running && info.ExitCode !== null && info.ExitCode !== undefined) return { exitCode: info.ExitCode, containerId, running };
    await new Promise((r) => setTimeout(r, attempt < 50 ? 20 : 100));
  }
  return { exitCode: null, containerId, running };
}
