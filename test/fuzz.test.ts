import { randomUUID } from 'node:crypto';
import {
  buildClientSchema,
  getIntrospectionQuery,
  getNamedType,
  getNullableType,
  isCompositeType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  type GraphQLField,
  type GraphQLFormattedError,
  type GraphQLInputType,
  type GraphQLObjectType,
  type IntrospectionQuery,
} from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ERROR_CODES } from '../src/errors.js';
import { authTokens, bearer, containerMaker, TOKENS } from './auth-kit.js';
import { startTestServer, uniqueName, type Result } from './kit.js';

/*
 * Every mutation and subscription of the schema (read by introspection, so new fields are
 * covered) gets wrong types, nulls, empty, huge and negative values and awkward unicode, one
 * argument or input field at a time, over HTTP (SSE for subscriptions) and graphql-ws. No answer
 * may be INTERNAL; every one is JSON with a code from the table; the server answers at the end.
 */

/** Requests in all, both transports together. */
const BUDGET = 1000;
const CONCURRENCY = 8;
/**
 * A subscription the server accepted may stay quiet for good (events of containers nobody
 * touches). Nothing arriving within this bound is that outcome, not an error: a late error
 * could be missed, but no run fails by it.
 */
const QUIET_SUBSCRIPTION_MS = 1000;

const server = await startTestServer({ AUTH_TOKENS: authTokens('fuzz'), RATE_LIMIT_BURST: '100000', RATE_LIMIT_PER_SECOND: '100000' });
const token = TOKENS.admin;
// Output at once, so a valid log subscription answers instead of waiting.
const target = (await containerMaker(server.url).createOk('admin', { command: "sh -c 'echo fuzz; sleep 3600'" })).name;

const MEGABYTE = 'x'.repeat(1_000_000);
const FUZZ_VALUES: unknown[] = [
  null,
  '',
  0,
  -1,
  2 ** 31,
  -(2 ** 53),
  1e308,
  1.5,
  true,
  [],
  {},
  ['a', 7],
  { nested: { deeper: 1 } },
  MEGABYTE,
  '\ud800',
  'lone low \udc00 surrogate',
  'rtl \u202e override',
  'nul\u0000byte',
  '-rf',
  '../../etc/passwd',
  '😀',
  'x',
];

/**
 * Valid values for arguments and input fields by name, so that one fuzzed value at a time is
 * what the server judges. Containers are the test's own; an image that does not exist keeps
 * createContainer from creating anything.
 */
const BASELINE: Record<string, () => unknown> = {
  container: () => target,
  image: () => 'localhost/podgraph/fuzz-no-such-image:0',
  name: () => uniqueName('fuzz'),
  command: () => 'true',
  path: () => '/tmp/fuzz.txt',
  content: () => 'x',
  username: () => 'fuzzuser',
  id: () => randomUUID(),
  data: () => 'x',
  cols: () => 80,
  rows: () => 24,
};

function baseline(name: string, type: GraphQLInputType): unknown {
  if (BASELINE[name]) return BASELINE[name]!();
  const nullable = getNullableType(type);
  if (isListType(nullable)) return [baseline(name, nullable.ofType)];
  if (isEnumType(nullable)) return nullable.getValues()[0]!.value;
  if (isInputObjectType(nullable)) return inputObject(Object.values(nullable.getFields()));
  return { Int: 1, Float: 1, Boolean: false }[getNamedType(nullable).name] ?? 'x';
}

/** The required fields and those with a baseline, each with its valid value. */
function inputObject(fields: readonly { name: string; type: GraphQLInputType }[]): Record<string, unknown> {
  return Object.fromEntries(fields.filter((f) => isNonNullType(f.type) || f.name in BASELINE).map((f) => [f.name, baseline(f.name, f.type)]));
}

interface Case {
  label: string;
  operation: 'query' | 'mutation' | 'subscription';
  query: string;
  variables: Record<string, unknown>;
}

/** One place a value can go: an argument, or a field of an input object argument. */
interface Slot {
  operation: 'mutation' | 'subscription';
  field: GraphQLField<unknown, unknown>;
  path: [string] | [string, string];
}

function documentOf(operation: Case['operation'], field: GraphQLField<unknown, unknown>, variables: Record<string, unknown>): string {
  const args = field.args.filter((a) => a.name in variables);
  const definitions = args.map((a) => `$${a.name}: ${String(a.type)}`).join(', ');
  const call = args.map((a) => `${a.name}: $${a.name}`).join(', ');
  const selection = isCompositeType(getNamedType(field.type)) ? ' { __typename }' : '';
  return `${operation} Fuzz${definitions ? `(${definitions})` : ''} { ${field.name}${call ? `(${call})` : ''}${selection} }`;
}

function caseOf({ operation, field, path }: Slot, value: unknown): Case {
  const variables = inputObject(field.args);
  const [arg, inner] = path;
  if (inner === undefined) variables[arg] = value;
  else variables[arg] = { ...(variables[arg] as object), [inner]: value };
  const shown = typeof value === 'string' && value.length > 40 ? `${value.length} characters` : JSON.stringify(value);
  return { label: `${field.name}(${path.join('.')}: ${shown})`, operation, query: documentOf(operation, field, variables), variables };
}

/** Every slot of every mutation and subscription, each with its share of the fuzz values (rotating, so all are used). */
function casesOf(mutation: GraphQLObjectType, subscription: GraphQLObjectType): Case[] {
  const slots: Slot[] = [];
  for (const [operation, root] of [['mutation', mutation], ['subscription', subscription]] as const) {
    for (const field of Object.values(root.getFields())) {
      for (const arg of field.args) {
        slots.push({ operation, field, path: [arg.name] });
        const type = getNullableType(arg.type);
        if (isInputObjectType(type)) for (const inner of Object.keys(type.getFields())) slots.push({ operation, field, path: [arg.name, inner] });
      }
    }
  }
  const perSlot = Math.max(1, Math.floor(BUDGET / 2 / slots.length));
  return slots.flatMap((slot, i) => Array.from({ length: perSlot }, (_, j) => caseOf(slot, FUZZ_VALUES[(i * perSlot + j) % FUZZ_VALUES.length])));
}

type Answer = Result<unknown> & { problem?: string };

/** A query or mutation as JSON over HTTP; a subscription over SSE, up to its first event. */
async function overHttp(c: Case): Promise<Answer> {
  const subscription = c.operation === 'subscription';
  const controller = new AbortController();
  const quiet = subscription ? setTimeout(() => controller.abort(), QUIET_SUBSCRIPTION_MS) : undefined;
  try {
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: subscription ? 'text/event-stream' : 'application/json', ...bearer(token) },
      body: JSON.stringify({ query: c.query, variables: c.variables }),
      signal: controller.signal,
    });
    const type = response.headers.get('content-type') ?? '';
    if (!type.includes('text/event-stream')) {
      if (!type.startsWith('application/json')) return { problem: `HTTP ${response.status} answered ${type || 'no content type'}` };
      return (await response.json()) as Result<unknown>;
    }
    const decoder = new TextDecoder();
    let text = '';
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      text += decoder.decode(chunk, { stream: true });
      const event = /event: next\ndata: (.*)\n\n/.exec(text);
      if (event) return JSON.parse(event[1]!) as Result<unknown>;
      if (text.includes('event: complete')) return {};
    }
    return {};
  } catch (error) {
    if (controller.signal.aborted) return {};
    throw error;
  } finally {
    clearTimeout(quiet);
    controller.abort();
  }
}

/** Any operation over graphql-ws, up to its first result (or a quiet subscription's bound). */
function overWebSocket(client: Client, c: Case): Promise<Answer> {
  return new Promise<Answer>((resolve) => {
    const quiet = c.operation === 'subscription' ? setTimeout(() => finish({}), QUIET_SUBSCRIPTION_MS) : undefined;
    const finish = (answer: Answer) => {
      clearTimeout(quiet);
      stop();
      resolve(answer);
    };
    const stop = client.subscribe(
      { query: c.query, variables: c.variables },
      {
        next: (result) => finish(result as Answer),
        error: (error) =>
          finish(Array.isArray(error) ? { errors: error as GraphQLFormattedError[] } : { problem: `socket closed (${(error as { code?: number }).code})` }),
        complete: () => finish({}),
      },
    );
  });
}

/** Why an answer breaks the rule: not JSON, INTERNAL, or a code outside the table. */
function problemsOf(answer: Answer): string[] {
  if (answer.problem) return [answer.problem];
  return (answer.errors ?? []).flatMap((error) => {
    const code = error.extensions?.code;
    if (code === 'INTERNAL') return [`INTERNAL: ${error.message}`];
    return typeof code === 'string' && code in ERROR_CODES ? [] : [`code ${JSON.stringify(code)}: ${error.message}`];
  });
}

async function inPool<T>(items: T[], concurrency: number, run: (item: T, worker: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (next < items.length) await run(items[next++]!, worker);
    }),
  );
}

describe('fuzzing every mutation and subscription', () => {
  const clients = Array.from({ length: CONCURRENCY }, () =>
    createClient({ url: `${server.url.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: bearer(token) }),
  );
  afterAll(() => Promise.all(clients.map((client) => client.dispose())));

  it('answers every value with JSON and a code from the table, never INTERNAL, and stays up', { timeout: 60_000 }, async () => {
    const introspection = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(token) },
      body: JSON.stringify({ query: getIntrospectionQuery() }),
    });
    const schema = buildClientSchema(((await introspection.json()) as { data: IntrospectionQuery }).data);
    const cases = casesOf(schema.getMutationType()!, schema.getSubscriptionType()!);
    expect(cases.length * 2).toBeGreaterThan(BUDGET * 0.8);
    expect(cases.length * 2).toBeLessThanOrEqual(BUDGET);

    // The container's lifecycle changes one at a time, after the rest (the engines refuse
    // overlapping restarts of one container in their own ways); removing it comes last.
    const lifecycle = (c: Case) => /^(start|stop|restart|remove)Container\(/.test(c.label);
    const removal = (c: Case) => c.label.startsWith('removeContainer(');
    const phases = [
      { cases: cases.filter((c) => !lifecycle(c)), concurrency: CONCURRENCY },
      { cases: cases.filter((c) => lifecycle(c) && !removal(c)), concurrency: 1 },
      { cases: cases.filter(removal), concurrency: 1 },
    ];
    const problems: string[] = [];
    for (const phase of phases) {
      await inPool(phase.cases, phase.concurrency, async (c, worker) => {
        for (const [transport, answer] of [['http', await overHttp(c)], ['ws', await overWebSocket(clients[worker]!, c)]] as const) {
          problems.push(...problemsOf(answer).map((problem) => `${transport} ${c.label}: ${problem}`));
        }
      });
    }
    expect(problems).toEqual([]);

    const health: Case = { query: '{ health { healthy } }', operation: 'query', label: 'health', variables: {} };
    expect(await overHttp(health)).toEqual({ data: { health: { healthy: true } } });
    expect(await overWebSocket(clients[0]!, health)).toEqual({ data: { health: { healthy: true } } });
  });
});
