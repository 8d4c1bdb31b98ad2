import { createSourceEventStream, execute, type DocumentNode, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { isSharedBatch } from '../streams/subscriber.js';

type Outcome = ExecutionResult | Promise<ExecutionResult>;

/** Numbers documents by identity: yoga's parser cache hands out one DocumentNode per query text. */
const documentIds = new WeakMap<DocumentNode, number>();
let nextDocumentId = 0;

/** Results of shared batches, by batch and then by operation (document, name and variables). */
const resultsByBatch = new WeakMap<object, Map<string, Outcome>>();

/**
 * A subscription's events, each executed as graphql-js would, except that a shared batch (one
 * delivered alike to many subscribers of a stream, see createBatchSubscriber) is executed once
 * per operation and its result handed to every subscriber of that operation. 500 viewers of a
 * busy log then cost one execution per burst instead of 500. Sound because a batch's items (log
 * events) resolve from their own data alone, never from the context: the schema test holds the
 * batch subscription's types to that.
 */
async function subscribeSharingBatches(args: ExecutionArgs) {
  const source = await createSourceEventStream(args);
  if (!(Symbol.asyncIterator in source)) return source;
  let documentId = documentIds.get(args.document);
  if (documentId === undefined) documentIds.set(args.document, (documentId = nextDocumentId++));
  const operationKey = JSON.stringify([documentId, args.operationName ?? null, args.variableValues ?? null]);

  const executeEvent = (payload: unknown): Outcome => {
    if (!isSharedBatch(payload)) return execute({ ...args, rootValue: payload });
    let results = resultsByBatch.get(payload);
    if (!results) resultsByBatch.set(payload, (results = new Map()));
    let result = results.get(operationKey);
    if (!result) results.set(operationKey, (result = execute({ ...args, rootValue: payload })));
    return result;
  };

  const events = source[Symbol.asyncIterator]();
  const done = { done: true as const, value: undefined };
  const results: AsyncIterableIterator<ExecutionResult> = {
    [Symbol.asyncIterator]: () => results,
    next: async () => {
      const event = await events.next();
      return event.done ? done : { done: false, value: await executeEvent(event.value) };
    },
    return: async () => (await events.return?.(), done),
    throw: async (error: unknown) => (await events.return?.(), Promise.reject(error)),
  };
  return results;
}

/** Subscriptions run through subscribeSharingBatches. */
export const useSharedBatchResults = (): Plugin => ({
  onSubscribe: ({ setSubscribeFn }) => setSubscribeFn(subscribeSharingBatches as never),
});
