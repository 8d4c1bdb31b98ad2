import { GraphQLInt, GraphQLList, GraphQLObjectType, GraphQLSchema, parse, type ExecutionArgs, type ExecutionResult } from 'graphql';
import { describe, expect, it } from 'vitest';
import { useSharedBatchResults } from '../../src/http/shared-results.js';
import { createBatchSubscriber } from '../../src/streams/subscriber.js';

type Subscribe = (args: ExecutionArgs) => unknown;

/** The plugin's subscribe function, wrapped around `given` as envelop's onSubscribe would have it. */
function wrappedSubscribe(given: Subscribe): Subscribe {
  let wrapped: Subscribe = given;
  const onSubscribe = useSharedBatchResults().onSubscribe as (payload: unknown) => void;
  onSubscribe({ subscribeFn: given, setSubscribeFn: (fn: Subscribe) => (wrapped = fn) });
  return wrapped;
}

describe('useSharedBatchResults', () => {
  let executions = 0;
  const items = [{ n: 1 }, { n: 2 }];
  const Item = new GraphQLObjectType({
    name: 'Item',
    fields: {
      n: {
        type: GraphQLInt,
        resolve: (item: { n: number }) => {
          executions++;
          return item.n;
        },
      },
    },
  });
  // Every subscriber of `batches` takes the same items at once, so it receives the same shared batch.
  const batches = () =>
    createBatchSubscriber({ maxItems: 10, gap: () => ({ n: -1 }) }, 10, (sink) => {
      for (const item of items) sink.push(item);
      sink.end();
      return () => undefined;
    });
  const schema = new GraphQLSchema({
    query: new GraphQLObjectType({ name: 'Query', fields: { ok: { type: GraphQLInt } } }),
    subscription: new GraphQLObjectType({
      name: 'Subscription',
      fields: {
        batches: { type: new GraphQLList(Item), subscribe: batches, resolve: (batch: unknown) => batch },
        single: { type: Item, subscribe: batches, resolve: (item: unknown) => item },
      },
    }),
  });

  it('hands a subscription that delivers no batches to the subscribe function it was given', () => {
    const given: Subscribe[] = [];
    const subscribe = wrappedSubscribe((args) => given.push(args as never));
    const args = { schema, document: parse('subscription { single { n } }') };
    subscribe(args);
    expect(given).toEqual([args]);
  });

  it('executes a shared batch once for the subscribers of one operation', async () => {
    const subscribe = wrappedSubscribe(() => {
      throw new Error('a batch subscription is executed by the plugin');
    });
    const document = parse('subscription { batches { n } }');
    const first = async () => {
      const results = (await subscribe({ schema, document })) as AsyncIterableIterator<ExecutionResult>;
      return (await results.next()).value as ExecutionResult;
    };
    executions = 0;
    const [a, b] = await Promise.all([first(), first()]);
    expect(a).toEqual({ data: { batches: [{ n: 1 }, { n: 2 }] } });
    expect(b).toBe(a);
    expect(executions).toBe(items.length);
  });
});
