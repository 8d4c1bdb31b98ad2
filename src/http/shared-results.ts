import { createSourceEventStream, execute, getNullableType, getOperationAST, isListType, Kind, type DocumentNode, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { isSharedBatch } from '../streams/subscriber.js';

type Outcome = ExecutionResult | Promise<ExecutionResult>;
type SubscribeFunction = Parameters<NonNullable<Plugin['onSubscribe']>>[0]['subscribeFn'];

/**
 * Subscriptions whose events may be shared batches (one delivered alike to many subscribers of
 * a stream, see createBatchSubscriber) have each batch executed once per operation (document,
 * name and variables) and its result handed to every subscriber of that operation. 500 viewers
 * of a busy log then cost one execution per burst instead of 500. Sound because a batch's items
 * (log events) resolve from their own data alone, never from the context: the schema test holds
 * the batch subscription's types to that. Every other subscription goes to the subscribe
 * function this plugin is given, untouched.
 */
export function useSharedBatchResults(): Plugin {
  /** Numbers documents by identity: yoga's parser cache hands out one DocumentNode per query text. */
  const documentIds = new WeakMap<DocumentNode, number>();
  let nextDocumentId = 0;
  /** Results of shared batches, by batch and then by operation. */
  const resultsByBatch = new WeakMap<object, Map<string, Outcome>>();

  const operationKey = (args: ExecutionArgs) => {
    let documentId = documentIds.get(args.document);
    if (documentId === undefined) documentIds.set(args.document, (documentId = nextDocumentId++));
    return JSON.stringify([documentId, args.operationName ?? null, args.variableValues ?? null]);
  };

  /** Each event executed as graphql-js would, a shared batch once per operation. */
  async function subscribeSharingBatches(args: ExecutionArgs) {
    const source = await createSourceEventStream(args);
    if (!(Symbol.asyncIterator in source)) return source;
    const key = operationKey(args);
    const executeEvent = (payload: unknown): Outcome => {
      if (!isSharedBatch(payload)) return execute({ ...args, rootValue: payload });
      let results = resultsByBatch.get(payload);
      if (!results) resultsByBatch.set(payload, (results = new Map()));
      let result = results.get(key);
      if (!result) results.set(key, (result = execute({ ...args, rootValue: payload })));
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

  const sharingBatches =
    (subscribe: SubscribeFunction): SubscribeFunction =>
    (args) =>
      deliversBatches(args) ? subscribeSharingBatches(args) : subscribe(args);

  return {
    onSubscribe: ({ subscribeFn, setSubscribeFn }) => setSubscribeFn(sharingBatches(subscribeFn)),
  };
}

/**
 * Whether the subscription's field delivers lists (batches). A root selection that is not a
 * plain field (a fragment) counts as one: the sharing path executes any stream correctly.
 */
function deliversBatches(args: ExecutionArgs): boolean {
  const selection = getOperationAST(args.document, args.operationName)?.selectionSet.selections[0];
  if (selection?.kind !== Kind.FIELD) return true;
  const field = args.schema.getSubscriptionType()?.getFields()[selection.name.value];
  return field !== undefined && isListType(getNullableType(field.type));
}
