import type { Readable } from 'node:stream';
import type { AppError } from '../errors.js';
import type { Upstream, UpstreamHandlers } from '../streams/upstream.js';
import type { ContainerModel } from './container-model.js';
import type { Frame, Line } from './streams.js';

/*
 * What podgraph needs of a container engine, in its own terms: no type of an engine's client
 * crosses this line. Every method fails with an AppError from the error table (errors.ts).
 */

export interface EngineInfo {
  name: string;
  version: string;
  apiVersion: string;
  os: string;
  arch: string;
}

export interface ImageModel {
  id: string;
  tags: string[];
  sizeBytes: number;
  createdAt: Date;
}

export interface VolumeInfo {
  name: string;
  labels: Record<string, string>;
}

/** A container to create, already validated and within the policy (core/containers.ts). */
export interface ContainerSpec {
  name: string;
  image: string;
  /** The argument list; absent: the image's own. */
  command?: string[];
  env: Record<string, string>;
  ports: { containerPort: number; protocol: 'tcp' | 'udp'; hostPort?: number; hostIp?: string }[];
  /** `source` is an absolute host path (bind mount) or a named volume. */
  volumes: { source: string; target: string; readOnly: boolean }[];
  user?: string;
  workdir?: string;
  labels: Record<string, string>;
  memoryBytes?: number;
  cpus?: number;
  pidsLimit?: number;
  init: boolean;
  tty: boolean;
  privileged: boolean;
  hostNetwork: boolean;
  hostPid: boolean;
  hostIpc: boolean;
  capAdd: string[];
  /** Host device paths, mapped to the same path inside. */
  devices: string[];
}

export interface ExecSpec {
  argv: string[];
  user?: string;
  workdir?: string;
  env?: string[];
  stdin?: Buffer;
  maxOutputBytes: number;
  /** Called once the process runs: what the caller does then adds nothing to the exec's time. */
  onStarted?: () => void;
}

export interface ExecOutcome {
  exitCode: number | null;
  /** The container's full ID, from the exec's own inspect; null when it was killed. */
  containerId: string | null;
  stdout: string;
  stderr: string;
  output: string;
  truncated: boolean;
  /** Killed because the signal aborted (its deadline passed, or its client left), not ended on its own. */
  killed: boolean;
  startedAt: Date;
  finishedAt: Date;
}

export interface PathStat {
  name: string;
  size: number;
  /** A Go file mode, as the Docker API reports it (core/files.ts reads the directory flag). */
  mode: number;
  mtime: string;
  linkTarget: string;
}

export type FileType = 'FILE' | 'DIRECTORY' | 'SYMLINK' | 'OTHER';

/** One entry of a directory, as lstat sees it (a symlink is itself, not its target). */
export interface DirectoryEntry {
  name: string;
  type: FileType;
  /** In bytes; a symlink's is its target's length. */
  size: number;
  /** Permission bits only. */
  mode: number;
  uid: number;
  gid: number;
  modifiedAt: Date;
  linkTarget: string | null;
}

export interface DirectoryListing {
  /** At most the limit asked for, in no particular order. */
  entries: DirectoryEntry[];
  /** How many entries the directory has, the unlisted ones included. */
  total: number;
}

export interface TerminalSize {
  cols: number;
  rows: number;
}

export interface ProcessSpec {
  argv: string[];
  user?: string;
  workdir?: string;
  env?: string[];
  /** A pseudo-terminal: one raw output stream, typed input, resizable. */
  tty: boolean;
  /** Keeps stdin open for `write`. */
  stdin: boolean;
  size?: TerminalSize;
}

export interface ProcessOutput extends Frame {
  /** `data` decoded; a character split across chunks is held back until its last byte arrives. */
  text: string;
}

/** The connection to the engine broke while the process ran; `error` says so to whoever watched it. */
export type ProcessLost = { kind: 'lost'; error: AppError };
/** How a process's output ended: the process exited, or it was lost. */
export type ProcessEnd = { kind: 'exited'; exitCode: number | null } | ProcessLost;

/** A process the server started whose connection was lost with the engine: what finds it again. */
export interface LostRun {
  containerId: string;
  /** The value of its exec marker (engine/exec-marker.ts). */
  marker: string;
  /** The user it runs as: only that user (or one with CAP_SYS_PTRACE) can read its environment. */
  user?: string;
}

export interface ProcessHandlers {
  /** Every piece of output, in order, until the process exits. */
  output: (output: ProcessOutput) => void;
  /** The process may still run but nobody can reach it through this server: it is to be killed once the engine is back. */
  lost: (run: LostRun) => void;
}

/** A process running in a container whose output streams while it runs. */
export interface InteractiveProcess {
  readonly startedAt: Date;
  /** Resolves once the output has ended: with the exit code (null when the engine cannot tell), or the loss. */
  readonly exited: Promise<ProcessEnd>;
  readonly running: boolean;
  /** Sends input; refused (CONFLICT) when the process has no input, has ended or stopped reading. */
  write(data: Buffer): void;
  resize(size: TerminalSize): Promise<void>;
  /** Kills the process and everything it started, then drops the connection. Idempotent. */
  kill(): Promise<void>;
}

/** A log line with the engine's timestamp (RFC 3339, to the second or the nanosecond). */
export interface StampedLine extends Line {
  timestamp: string | null;
  /** The timestamp in nanoseconds, where the reader has parsed it already (log files). */
  nanos?: bigint;
}

export interface LogReadWindow {
  /** The last `tail` lines... */
  tail?: number;
  /** ...or every line from this second (since the epoch) on. */
  since?: number;
  /** Whether an unfinished last line is returned (the container has stopped). */
  final: boolean;
}

export interface EngineEvent {
  id: string;
  name: string;
  action: string;
  /** Nanoseconds since the epoch, as the engine reports them. */
  timeNano: bigint;
  attributes: Record<string, string>;
}

export interface StatsSample {
  read: Date;
  cpuPercent: number | null;
  memoryUsedBytes: number | null;
  memoryLimitBytes: number | null;
  networkRxBytes: number;
  networkTxBytes: number;
  pids: number | null;
}

/**
 * A container engine, as the services in core/ use it. One adapter exists: engine/docker/, for
 * the Docker API that Docker Engine and Podman both serve. How each operation would map onto a
 * Kubernetes adapter (one pod per container, one container per pod, over the API server):
 *
 * - `info`, `ping`: GET /version and /readyz. `close`: ends the client's kept-open connections.
 * - `listContainers`: list pods with a label selector (the `key`/`key=value` filters are already
 *   selector terms). `inspectContainer`: get pod by name; a pod's UID stands in for the ID, so an
 *   ID-like reference is found by listing and matching the UID prefix. The model maps from the pod
 *   and its container's status (waiting, running, terminated: CREATED, RUNNING, EXITED).
 * - `createContainer`: create a pod (restartPolicy Never) from the spec: resources as limits,
 *   ports as containerPorts (hostPort where allowed), volumes as hostPath or PVC, the host-level
 *   options as hostNetwork/hostPID/hostIPC and the securityContext. Kubernetes has no created
 *   but not started state: the pod runs once scheduled, so `startContainer` would wait for it.
 * - `stopContainer`, `startContainer`, `restartContainer`: a pod cannot be stopped and started
 *   again. podgraph would keep the pod's spec (as an annotation) and stop by deleting the pod
 *   with the grace period, start by creating it again from the spec (a new UID; the name
 *   stays), restart by both: the container's files do not survive, which the API would say.
 * - `removeContainer`: delete the pod (grace period 0 with force). `inspectVolume`,
 *   `createVolume`: PersistentVolumeClaims with labels.
 * - `listImages`, `imageExists`: the API server knows no images; the node's are in its status
 *   (node.status.images), and a pull policy of Never keeps podgraph's rule that nothing is pulled.
 * - `exec`, `startProcess`: pods/exec over WebSocket (v5.channel.k8s.io): channels 1 and 2 keep
 *   stdout and stderr apart, channel 3 carries the exit status, channel 4 resizes a terminal.
 *   A process cannot be killed through the API either, so the exec marker and its kill script
 *   (engine/exec-marker.ts) work unchanged. pods/attach would reach a pod's main process.
 * - `statPath`, `getArchive`, `putArchive`: there is no archive API. As `kubectl cp` does,
 *   files go through exec: `tar cf - PATH` out, `tar xf - -C DIR` in with the archive on stdin,
 *   `stat` for a path's stat; an image without tar cannot have files read or written.
 *   `listDirectory` runs the same script through exec as the Docker adapter does.
 * - `readLogs`, `followLogs`: pods/log with timestamps, tailLines, sinceSeconds and follow. It
 *   does not separate stdout from stderr: every line would be stdout, unless the node's log
 *   files (CRI format, which engine/logfile.ts reads) are readable on this host.
 * - `watchContainerEvents`: a watch on pods (ADDED, MODIFIED, DELETED) turned into create,
 *   start, die and destroy; reconnects resume from the last resourceVersion.
 * - `followStats`: the metrics API (metrics.k8s.io) polled, or the kubelet's stats summary; no
 *   stream, and no network or pids figures from the former (null).
 * - `killMarked`, `readsRefAlike`: as above, through exec; names are the only references the
 *   API reads, so an ID always needs a lookup first.
 */
export interface ContainerEngine {
  info(signal?: AbortSignal): Promise<EngineInfo>;
  ping(signal?: AbortSignal): Promise<void>;
  /** Closes the connections a client with an agent of its own keeps open. */
  close(): void;

  /** Every container, or those carrying all the labels (`key` or `key=value`). */
  listContainers(labels: string[], signal?: AbortSignal): Promise<ContainerModel[]>;
  /** The container a reference names (container-model.ts: isContainerIdRef), with its details; NOT_FOUND otherwise. */
  inspectContainer(ref: string, signal?: AbortSignal): Promise<ContainerModel>;
  /**
   * Whether the engine, given this reference directly (as `exec` is), finds the container
   * `inspectContainer` would; any other reference is resolved to an ID first.
   */
  readsRefAlike(ref: string): boolean;
  /** Creates the container (not started); its ID. A name in use is a CONFLICT. */
  createContainer(spec: ContainerSpec, signal?: AbortSignal): Promise<string>;
  startContainer(id: string, signal?: AbortSignal): Promise<void>;
  stopContainer(id: string, timeoutSeconds: number, signal?: AbortSignal): Promise<void>;
  restartContainer(id: string, timeoutSeconds: number, signal?: AbortSignal): Promise<void>;
  /** With its anonymous volumes; `force` kills a running one first. */
  removeContainer(id: string, force: boolean, signal?: AbortSignal): Promise<void>;

  /** A named volume as the engine has it, or null when there is none. */
  inspectVolume(name: string, signal?: AbortSignal): Promise<VolumeInfo | null>;
  /** Creates a named volume with labels; an existing one is returned as it is, for the caller to check. */
  createVolume(name: string, labels: Record<string, string>, signal?: AbortSignal): Promise<VolumeInfo>;

  listImages(signal?: AbortSignal): Promise<ImageModel[]>;
  imageExists(ref: string, signal?: AbortSignal): Promise<boolean>;

  /**
   * Runs a process in a running container and collects its output up to a cap. When `signal`
   * aborts, every process the exec started is killed and the call resolves with `killed` set.
   */
  exec(ref: string, spec: ExecSpec, signal?: AbortSignal): Promise<ExecOutcome>;
  /** Starts a process whose output streams to `handlers` while it runs; it may take input and a terminal. */
  startProcess(containerId: string, spec: ProcessSpec, handlers: ProcessHandlers, signal?: AbortSignal): Promise<InteractiveProcess>;
  /**
   * Kills every process in the container carrying the exec marker `marker`, as `user` (the one
   * it ran as). False when the engine could not be asked: the processes may still run.
   */
  killMarked(containerId: string, marker: string, user?: string): Promise<boolean>;

  /** Stat of a path inside the container, or null when it does not exist. */
  statPath(id: string, path: string, signal?: AbortSignal): Promise<PathStat | null>;
  /** A tar stream of the path (file or directory) inside the container. */
  getArchive(id: string, path: string, signal?: AbortSignal): Promise<Readable>;
  /** Extracts a tar archive into the directory `dir` inside the container. */
  putArchive(id: string, dir: string, tar: Buffer, signal?: AbortSignal): Promise<void>;
  /**
   * Up to `limit` entries of a directory of a running container (a symlink to one is followed),
   * with the count of all. NOT_FOUND when the path does not exist, BAD_USER_INPUT when it is
   * not a directory.
   */
  listDirectory(id: string, path: string, limit: number, signal?: AbortSignal): Promise<DirectoryListing>;

  /** Log lines up to now (both streams, with timestamps). `tty`: the container has a terminal. */
  readLogs(id: string, tty: boolean, window: LogReadWindow, signal?: AbortSignal): Promise<StampedLine[]>;
  /** Follows a container's log lines from `sinceSeconds` on, until it stops or is closed. */
  followLogs(id: string, tty: boolean, sinceSeconds: number, handlers: UpstreamHandlers<StampedLine>): Upstream;
  /** Follows every container's events (create, start, die, stop, destroy, ...). */
  watchContainerEvents(handlers: UpstreamHandlers<EngineEvent>): Upstream;
  /** Follows a container's resource usage, a sample about every second. */
  followStats(id: string, handlers: UpstreamHandlers<StatsSample>): Upstream;
}
