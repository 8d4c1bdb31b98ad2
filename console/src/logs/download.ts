import type { Client } from '@urql/core';
import { FollowLogsDocument, LastLogLineDocument } from 'podgraph/client';
import { run } from '../api';
import { saveAs } from '../save';

/** The start of the history: `since` this reads every line the engine keeps, up to the server's MAX_LOG_TAIL. */
const BEGINNING = '1970-01-01T00:00:00.000Z';

/** Reads the log from its start up to its last line now, and hands it to the browser as a file. */
export async function downloadWholeLog(client: Client, container: string): Promise<void> {
  const { container: found } = await run(client, LastLogLineDocument, { ref: container });
  const lastCursor = found.logs[0]?.cursor;
  const lines: string[] = [];
  let skipped = 0;
  if (lastCursor) {
    await new Promise<void>((resolve, reject) => {
      const subscription = client.subscription(FollowLogsDocument, { container, since: BEGINNING }).subscribe((result) => {
        if (result.error) {
          subscription.unsubscribe();
          return reject(new Error(`Download failed: ${result.error.message}`));
        }
        for (const event of result.data?.containerLogBatches ?? []) {
          if (event.__typename === 'StreamGap') skipped += event.missed;
          if (event.__typename === 'LogLine') lines.push(`${event.timestamp} ${event.stream.toLowerCase()} ${event.message}`);
          if (event.__typename === 'LogEnd' || (event.__typename === 'LogLine' && event.cursor === lastCursor)) {
            subscription.unsubscribe();
            return resolve();
          }
        }
      });
    });
  }
  // A history longer than the server's MAX_LOG_TAIL starts with a gap the API cannot fill from the start.
  const head = skipped > 0 ? [`(the first ${skipped} lines are beyond what the server reads at once: MAX_LOG_TAIL)`] : [];
  saveAs(new Blob([[...head, ...lines].join('\n') + '\n'], { type: 'text/plain' }), `${container}.log`);
}
