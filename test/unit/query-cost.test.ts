import { getIntrospectionQuery, getOperationAST, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { operationCost } from '../../src/http/query-cost.js';
import { schema } from '../../src/schema/index.js';

const cost = (query: string, variables?: Record<string, unknown>) => {
  const document = parse(query);
  return operationCost(schema, document, getOperationAST(document)!, variables);
};

describe('operationCost', () => {
  it('counts the objects a query may return, scalars free', () => {
    expect(cost('{ health { healthy } }')).toBe(1);
    expect(cost('{ container(ref: "x") { name labels { key } } }')).toBe(2);
  });

  it('multiplies a field by its size argument, given, from a variable, or by default', () => {
    expect(cost('{ container(ref: "x") { logs(tail: 10000) { message } } }')).toBe(10_001);
    expect(cost('query ($t: Int) { container(ref: "x") { logs(tail: $t) { message } } }', { t: 500 })).toBe(501);
    expect(cost('query ($t: Int = 40) { container(ref: "x") { logs(tail: $t) { message } } }')).toBe(41);
    // logs' own default tail (100) and executions' default limit (20).
    expect(cost('{ container(ref: "x") { logs { message } executions { id } } }')).toBe(121);
    expect(cost('subscription { containerLogs(container: "x", tail: 300) { ... on LogLine { message } } }')).toBe(300);
  });

  it('counts fragments where they are spread, and introspection like anything else', () => {
    const spread = 'fragment L on Container { logs(tail: 1000) { message } } { a: container(ref: "x") { ...L } b: container(ref: "y") { ...L } }';
    expect(cost(spread)).toBe(2 * 1001);
    expect(cost(getIntrospectionQuery())).toBeGreaterThan(10);
    expect(cost(getIntrospectionQuery())).toBeLessThan(1000);
  });
});
