import { afterAll, describe, expect, it } from 'vitest';
import { ContainerLogsLive, Exec } from './documents.js';
import type { ContainerLogsLiveSubscription } from './gql/graphql.js';
import { BUSYBOX_IMAGE, LOG_SOURCES, containerFactory, startTestServer } from './kit.js';
import { watchWs, wsClient, type Watch } from './live-client.js';

type Event = ContainerLogsLiveSubscription['containerLogs'];
type Line = Extract<Event, { __typename: 'LogLine' }>;

const TOTAL = 20_000;
const RECONNECTS = 7;
/** Small, so a resume reaches back past the history a plain subscription may ask for. */
const MAX_LOG_TAIL = 1000;
/**
 * Says it waits until /tmp/go appears, then prints TOTAL numbered lines as one burst (about
 * 10,000 a second at most, so a reader on this machine can keep up with the live part).
 */
const BURST_SCRIPT = [
  'while [ ! -f /tmp/go ]; do echo waiting; sleep 0.1; done',
  'i=0',
  `while [ $i -lt ${TOTAL} ]; do i=$((i+1)); echo "line $i"; [ $((i % 500)) -eq 0 ] && sleep 0.05; done`,
  'sleep 3600',
].join('\n');

const numbered = (events: Event[]) => events.filter((e): e is Line => e.__typename === 'LogLine' && e.message.startsWith('line '));
const lastNumber = (events: { containerLogs: Event }[]) => Number(numbered(events.map((e) => e.containerLogs)).at(-1)?.message.slice(5) ?? 0);

describe.each(LOG_SOURCES)('resuming a burst, reading $label', async ({ env }) => {
  const server = await startTestServer({ MAX_LOG_TAIL: String(MAX_LOG_TAIL), STREAM_QUEUE_BYTES: String(256 * 1024), ...env });
  const create = containerFactory(server);
  const client = wsClient(server);
  afterAll(() => client.dispose());

  it(`delivers every line after the cursor, in order and once, over ${RECONNECTS} reconnects far behind the live end`, async () => {
    const container = (await create(BUSYBOX_IMAGE, { command: `sh -c '${BURST_SCRIPT}'` })).name;
    // The pace setter follows live throughout; the reader under test leaves and resumes.
    const pacer = watchWs(client, ContainerLogsLive, { container, tail: 0 });
    let reader: Watch<{ containerLogs: Event }> = watchWs(client, ContainerLogsLive, { container, tail: 0 });
    try {
      // Both are following once a "waiting" line reaches them; only then does the burst start.
      const waiting = (events: { containerLogs: Event }[]) => events.some((e) => e.containerLogs.__typename === 'LogLine' && e.containerLogs.message === 'waiting');
      await Promise.all([pacer.until(waiting, 30_000), reader.until(waiting, 30_000)]);
      await server.ok(Exec, { container, input: { command: 'touch /tmp/go' } });

      const runs: Watch<{ containerLogs: Event }>[] = [reader];
      for (let reconnect = 1; reconnect <= RECONNECTS; reconnect++) {
        const target = reconnect * (TOTAL / (RECONNECTS + 1));
        await reader.until((events) => lastNumber(events) >= target || lastNumber(events) === TOTAL, 60_000);
        reader.stop();
        const delivered = numbered(reader.events.map((e) => e.containerLogs));
        // Resume only once the burst has run past what a tail could fetch again, or has ended.
        const from = Number(delivered.at(-1)!.message.slice(5));
        await pacer.until((events) => lastNumber(events) >= Math.min(TOTAL, from + MAX_LOG_TAIL + 200), 60_000);
        reader = watchWs(client, ContainerLogsLive, { container, after: delivered.at(-1)!.cursor });
        runs.push(reader);
      }
      await reader.until((events) => lastNumber(events) === TOTAL, 60_000);
      reader.stop();

      const events = runs.flatMap((run) => run.events.map((e) => e.containerLogs));
      expect(events.filter((e) => e.__typename === 'StreamGap')).toEqual([]);
      const received = numbered(events).map((line) => line.message);
      expect(received).toEqual(Array.from({ length: TOTAL }, (_, i) => `line ${i + 1}`));
    } finally {
      pacer.stop();
      reader.stop();
    }
  });

  it('refuses a tail together with a cursor: the two would leave a gap', async () => {
    const container = (await create(BUSYBOX_IMAGE)).name;
    const watch = watchWs(client, ContainerLogsLive, { container, tail: 3, after: '1.0' });
    await watch.until(() => watch.done, 30_000);
    expect(watch.errors[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
    expect(watch.errors[0]!.message).toMatch(/tail/);
  });
});
