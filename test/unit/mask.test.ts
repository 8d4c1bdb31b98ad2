import { GraphQLError } from 'graphql';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.js';
import { maskError } from '../../src/http/graphql.js';

function capturingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'error' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

const inResolver = (original: Error) => new GraphQLError(original.message, { originalError: original, path: ['field'] });

describe('maskError', () => {
  it('hides an unexpected error behind an id that the log has, with the real cause', () => {
    const { logger, lines } = capturingLogger();
    const masked = maskError(logger)(inResolver(new Error('connect EACCES /secret/path'))) as GraphQLError;
    expect(masked.extensions.code).toBe('INTERNAL');
    expect(masked.message).not.toContain('/secret/path');
    expect(masked.message).toContain(String(masked.extensions.errorId));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ errorId: masked.extensions.errorId, msg: 'internal error' });
    expect(JSON.stringify(lines[0])).toContain('/secret/path');
  });

  it('passes table errors through with their code and no stack', () => {
    const { logger, lines } = capturingLogger();
    const masked = maskError(logger)(inResolver(new AppError('CONFLICT', 'name in use'))) as GraphQLError;
    expect(masked.toJSON()).toEqual({ message: 'name in use', path: ['field'], extensions: { code: 'CONFLICT' } });
    expect(lines).toHaveLength(0);
  });

  it('gives GraphQL errors without a code BAD_USER_INPUT', () => {
    const { logger } = capturingLogger();
    const masked = maskError(logger)(new GraphQLError('Variable "$x" got invalid value')) as GraphQLError;
    expect(masked.extensions.code).toBe('BAD_USER_INPUT');
  });
});
