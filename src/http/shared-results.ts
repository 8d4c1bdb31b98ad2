import { createSourceEventStream, execute, getOperationAST, Kind, type DocumentNode, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { eventCursor, RESUMABLE_SUBSCRIPTIONS } from '../schema/stream.js';
import { isSharedBatch } from '../streams/subscriber.js';

type Outcome = ExecutionResult | Promise<ExecutionResult>;

/** Numbers documents by identity: yoga's parser cache hands out one DocumentNode per query text. */
const documentIds = new WeakMap<DocumentNode, number>();
let nextDocumentId = 0;

/** Results of shared batches, by batch and then by operation (document, name and variables). */
const resultsByBatch = new WeakMap<object, Map<string, Outcome>>();

/** The cursor each result of a resumable subscription resumes after (see resumeCursorOf). */
const resumeCursors = new WeakMap<ExecutionResult, string>();

/** The cursor to resume after this subscription result, for its SSE event id; none for most. */
export const resumeCursorOf = (result: ExecutionResult): string | undefined => resumeCursors.get(result);

/** Whether the operation's (single) root field is a subscription that resumes from a cursor. */
function isResumable(args: ExecutionArgs): boolean {
  const [field, ...others] = getOperationAST(args.document, args.operationName)?.selectionSet.selections ?? [];
  return others.length === 0 && field?.kind === Kind.FIELD && RESUMABLE_SUBSCRIPTIONS.has(field.name.value);
}

/**
 * A subscription's events, each executed as graphql-js would, except that a shared batch (one
 * delivered alike to many subscribers of a stream, see createBatchSubscriber) is executed once
 * per operation and its result handed to every subscriber of that operation. 500 viewers of a
 * busy log then cost one execution per burst instead of 500. Sound because a batch's items (log
 * events) resolve from their own data alone, never from the context: the schema test holds the
 * batch subscription's types to that. Each result of a resumable subscription is noted with the
 * cursor of its event (resumeCursorOf), which SSE sends as the event's id.
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

  const resumable = isResumable(args);

  const events = source[Symbol.asyncIterator]();
  const done = { done: true as const, value: undefined };
  const results: AsyncIterableIterator<ExecutionResult> = {
    [Symbol.asyncIterator]: () => results,
    next: async () => {
      const event = await events.next();
      if (event.done) return done;
      const result = await executeEvent(event.value);
      const cursor = resumable ? eventCursor(event.value) : undefined;
      if (cursor !== undefined) resumeCursors.set(result, cursor);
      return { done: false, value: result };
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
