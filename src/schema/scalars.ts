import { GraphQLError, Kind } from 'graphql';
import { builder } from './builder.js';

function toDate(value: unknown): Date {
  const date = typeof value === 'string' ? new Date(value) : undefined;
  if (!date || Number.isNaN(date.getTime()) || !/^\d{4}-\d{2}-\d{2}T/.test(value as string)) {
    throw new GraphQLError('DateTime must be an ISO-8601 string such as 2025-01-19T15:47:19Z', {
      extensions: { code: 'BAD_USER_INPUT' },
    });
  }
  return date;
}

export const DateTimeScalar = builder.scalarType('DateTime', {
  description: 'An ISO-8601 date and time in UTC, e.g. 2025-01-19T15:47:19.123Z.',
  serialize: (value) => (value instanceof Date ? value.toISOString() : String(value)),
  parseValue: toDate,
  parseLiteral: (ast) => toDate(ast.kind === Kind.STRING ? ast.value : undefined),
});
