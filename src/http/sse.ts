import type { ExecutionResult, GraphQLError } from 'graphql';
import type { FetchAPI, Plugin } from 'graphql-yoga';
import { resumeCursorOf } from './shared-results.js';

/** A comment line now and then keeps proxies and browsers from closing a quiet stream. */
const PING_MS = 12_000;

/** A result as it leaves: extensions.http is for yoga's HTTP status, not the client. */
function serialize(result: ExecutionResult): string {
  if (!result.errors) return JSON.stringify(result);
  const errors = result.errors.map((error: GraphQLError) => {
    const { http: _http, ...extensions } = error.extensions ?? {};
    return { ...error.toJSON(), extensions };
  });
  return JSON.stringify({ ...result, errors });
}

/**
 * A running subscription as server-sent events, the way yoga writes them (`event: next`, then
 * `event: complete`), where an event of a resumable subscription also carries its cursor as the
 * event's `id`: a client that reconnects with it as Last-Event-ID (EventSource does so by itself)
 * continues right after it.
 */
function eventStream(results: AsyncIterable<ExecutionResult>, fetchAPI: FetchAPI): Response {
  const encoder = new fetchAPI.TextEncoder();
  const iterator = results[Symbol.asyncIterator]();
  let ping: NodeJS.Timeout | undefined;
  const body = new fetchAPI.ReadableStream<Uint8Array>({
    start(controller) {
      // Some browsers hold a response back until its first bytes.
      controller.enqueue(encoder.encode(':\n\n'));
      ping = setInterval(() => {
        if (controller.desiredSize !== null && controller.desiredSize > 0) controller.enqueue(encoder.encode(':\n\n'));
      }, PING_MS);
    },
    async pull(controller) {
      const next = await iterator.next();
      if (next.done) {
        clearInterval(ping);
        controller.enqueue(encoder.encode('event: complete\ndata:\n\n'));
        controller.close();
        return;
      }
      const cursor = resumeCursorOf(next.value);
      const id = cursor === undefined ? '' : `id: ${cursor}\n`;
      controller.enqueue(encoder.encode(`${id}event: next\ndata: ${serialize(next.value)}\n\n`));
    },
    async cancel() {
      clearInterval(ping);
      await iterator.return?.();
    },
  });
  return new fetchAPI.Response(body, {
    status: 200,
    headers: { 'content-type': 'text/event-stream', connection: 'keep-alive', 'cache-control': 'no-cache', 'content-encoding': 'none' },
  });
}

/**
 * Subscriptions over SSE on /graphql are written by eventStream. Yoga has chosen its SSE
 * processor by then: nothing else answers with an async iterable (the schema has no @defer or
 * @stream), and no other processor takes one from a subscription.
 */
export const useResumableEventStreams = (): Plugin => ({
  onResultProcess: ({ result, resultProcessor, setResultProcessor }) => {
    if (!resultProcessor || !(Symbol.asyncIterator in result)) return;
    // yoga's own stream classes: its server cancels their streams when the client goes away.
    setResultProcessor((stream, fetchAPI) => eventStream(stream as AsyncIterable<ExecutionResult>, fetchAPI), 'text/event-stream');
  },
});
