import { Client, fetchExchange, subscriptionExchange } from '@urql/core';
import { createClient as createWsClient } from 'graphql-ws';
import { ContainersDocument, ExecDocument, FollowLogsDocument } from 'podgraph/client';

const token = 'operator-secret-token';
const ws = createWsClient({ url: 'ws://127.0.0.1:4000/graphql', connectionParams: { authorization: `Bearer ${token}` } });
const client = new Client({
  url: 'http://127.0.0.1:4000/graphql',
  fetchOptions: { headers: { authorization: `Bearer ${token}` } },
  exchanges: [
    fetchExchange,
    subscriptionExchange({
      forwardSubscription: (request) => ({
        subscribe: (sink) => ({ unsubscribe: ws.subscribe({ ...request, query: request.query ?? '' }, sink) }),
      }),
    }),
  ],
});

// Every result is typed from the schema: data.containers[0].state is 'RUNNING' | 'EXITED' | ...
const { data } = await client.query(ContainersDocument, { filter: { labels: ['lab=web-101'] } }).toPromise();
for (const container of data?.containers ?? []) console.log(container.name, container.state);

const { data: ran } = await client.mutation(ExecDocument, { container: 'lab1', input: { command: 'id -un' } }).toPromise();
console.log(ran?.exec.exitCode, ran?.exec.stdout);

// Log lines in batches; after a reconnect, pass the last cursor as `after` to miss nothing.
let lastCursor: string | undefined;
client.subscription(FollowLogsDocument, { container: 'lab1', tail: 20 }).subscribe(({ data: logs }) => {
  for (const event of logs?.containerLogBatches ?? []) {
    if (event.__typename === 'LogLine') {
      lastCursor = event.cursor;
      console.log(event.timestamp, event.message);
    }
  }
});
export { lastCursor };
