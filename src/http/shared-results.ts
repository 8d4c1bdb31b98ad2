import { createSourceEventStream, execute, getNullableType, getOperationAST, isListType, Kind, type DocumentNode, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { eventCursor, RESUMABLE_SUBSCRIPTIONS } from '../schema/stream.js';
import { isSharedBatch } from '../streams/subscriber.js';

type Outcome = ExecutionResult | Promise<ExecutionResult>;
type SubscribeFunction = Parameters<NonNullable<Plugin['onSubscribe']>>[0]['subscribeFn'];

/**
 * The cursor each result of a resumable subscription resumes after. Kept beside the results
 * themselves (a weak map holds nothing alive), so the SSE writer can read it for the event id.
 */
const resumeCursors = new WeakMap<ExecutionResult, string>();

/** The cursor to resume after this subscription result, for its SSE event id; none for most. */
export const resumeCursorOf = (result: ExecutionResult): string | undefined => resumeCursors.get(result);

/** Whether the operation's (single) root field is a subscription that resumes from a cursor. */
function isResumable(args: ExecutionArgs): boolean {
  const [field, ...others] = getOperationAST(args.document, args.operationName)?.selectionSet.selections ?? [];
  return others.length === 0 && field?.kind === Kind.FIELD && RESUMABLE_SUBSCRIPTIONS.has(field.name.value);
}

/**
 * Subscriptions whose events may be shared batches (one delivered alike to many subscribers of
 * a stream, see createBatchSubscriber) have each batch executed once per operation (document,
 * name and variables) and its result handed to every subscriber of that operation. 500 viewers
 * of a busy log then cost one execution per burst instead of 500. Sound because a batch's items
 * (log events) resolve from their own data alone, never from the context: the schema test holds
 * the batch subscription's types to that. Each result of a resumable subscription is noted with
 * the cursor of its event (resumeCursorOf), which SSE sends as the event's id; that needs the
 * event, so those run here too. Every other subscription goes to the subscribe function this
 * plugin is given, untouched.
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

  /** Each event executed as graphql-js would, a shared batch once per operation, a resumable one's result noted with its cursor. */
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

  const sharingBatches =
    (subscribe: SubscribeFunction): SubscribeFunction =>
    (args) =>
      deliversBatches(args) || isResumable(args) ? subscribeSharingBatches(args) : subscribe(args);

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
