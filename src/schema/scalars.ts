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

function toFileMode(value: unknown): number | string {
  if ((typeof value === 'number' && Number.isInteger(value)) || typeof value === 'string') return value;
  throw new GraphQLError('FileMode must be an octal string such as "0644" or the bits as a number', { extensions: { code: 'BAD_USER_INPUT' } });
}

/** Checked by the service (core/validation.ts fileMode), so REST and GraphQL read modes alike. */
export const FileModeScalar = builder.scalarType('FileMode', {
  description: 'Permission bits: an octal string such as "0644" (or "644", "0o644"), or their value as a number (420); numbers above 511 are refused, as 600 would mean 0o1130.',
  serialize: (value) => value,
  parseValue: toFileMode,
  parseLiteral: (ast) => toFileMode(ast.kind === Kind.INT ? Number(ast.value) : ast.kind === Kind.STRING ? ast.value : undefined),
});
