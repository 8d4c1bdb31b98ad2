import type Docker from 'dockerode';

export const DEBIAN_IMAGE = 'localhost/podgraph/debian:bookworm';
export const BUSYBOX_IMAGE = 'localhost/podgraph/busybox:latest';
/** Every container the bench creates carries this label, so leftovers can be found. */
export const BENCH_LABEL = 'podgraph.bench';
/** What the bench uses the container for, so a scenario can list exactly its own. */
export const ROLE_LABEL = 'podgraph.bench.role';

export interface BenchContainer {
  id: string;
  name: string;
}

/**
 * The bench's containers: created running (sleeping, with init so removal is fast) and all
 * removed by `removeAll`, which the runner calls whatever happened.
 */
export class Fixtures {
  private readonly created: BenchContainer[] = [];
  private counter = 0;

  constructor(private readonly docker: Docker) {}

  async create(role: string, image: string, cmd: string[] = ['sleep', '3600']): Promise<BenchContainer> {
    const name = `pgb-${process.pid}-${role}-${this.counter++}`;
    const container = await this.docker.createContainer({
      Image: image,
      name,
      Cmd: cmd,
      Labels: { [BENCH_LABEL]: String(process.pid), [ROLE_LABEL]: role },
      HostConfig: { Init: true },
    });
    const created = { id: container.id, name };
    this.created.push(created);
    await container.start();
    return created;
  }

  async removeAll(): Promise<number> {
    const doomed = this.created.splice(0);
    await Promise.all(doomed.map((c) => this.docker.getContainer(c.id).remove({ force: true, v: true }).catch(() => undefined)));
    return doomed.length;
  }
}

/**
 * Writes lines to the container's own log: `count` lines "<tag> <number> <padding>", then
 * "<tag> END". The script is fixed; tag, padding and count arrive as arguments. Writing to
 * PID 1's stdout puts the lines into the engine's log as if the container had printed them.
 */
const PRINT_LINES = 'seq -f "$1 %08.0f $2" 1 "$3" > /proc/1/fd/1 && echo "$1 END" > /proc/1/fd/1';

export async function printToLog(docker: Docker, id: string, tag: string, count: number, lineBytes = 80): Promise<void> {
  const padding = 'x'.repeat(Math.max(1, lineBytes - tag.length - 10));
  await runToEnd(docker, id, ['sh', '-c', PRINT_LINES, 'print', tag, padding, String(count)]);
}

/** Runs a command and waits until its output ends (the bench's own set-up steps, not measured). */
export async function runToEnd(docker: Docker, id: string, argv: string[]): Promise<void> {
  const exec = await docker.getContainer(id).exec({ Cmd: argv, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: false, stdin: false });
  await new Promise<void>((resolve, reject) => {
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.on('error', reject);
    stream.resume();
  });
}

/** Writes one line to the container's log. */
export async function announce(docker: Docker, id: string, text: string): Promise<void> {
  await runToEnd(docker, id, ['sh', '-c', 'echo "$1" > /proc/1/fd/1', 'announce', text]);
}
