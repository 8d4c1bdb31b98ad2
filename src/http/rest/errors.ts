import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { AppError, fromEngineError, invalidFields, type ErrorCode, type FieldIssue } from '../../errors.js';

/**
 * The `type` the original service reported: ValidationError for bad input, InternalError for
 * the masked rest, PodmanAPIError for what the engine refused. Codes it never had get their own
 * name (METHOD_NOT_ALLOWED -> MethodNotAllowedError).
 */
const ORIGINAL_TYPES: Partial<Record<ErrorCode, string>> = {
  BAD_USER_INPUT: 'ValidationError',
  INTERNAL: 'InternalError',
  NOT_FOUND: 'PodmanAPIError',
  CONFLICT: 'PodmanAPIError',
  TIMEOUT: 'PodmanAPIError',
  ENGINE_UNAVAILABLE: 'PodmanAPIError',
};

const typeOf = (code: ErrorCode) =>
  ORIGINAL_TYPES[code] ?? `${code.toLowerCase().replace(/(^|_)([a-z])/g, (_, __, c: string) => c.toUpperCase())}Error`;

/** Where a service's input name differs from the REST body's, errors name the REST field. */
const REST_FIELD_NAMES: Record<string, string> = { env: 'environment', path: 'dest_path' };

function withRestFieldNames(error: AppError): AppError {
  const issues = error.details?.issues as FieldIssue[] | undefined;
  if (error.code !== 'BAD_USER_INPUT' || !issues) return error;
  return invalidFields(
    issues.map((issue) => {
      const [first, ...rest] = issue.field.split('.');
      return { ...issue, field: [REST_FIELD_NAMES[first] ?? first, ...rest].join('.') };
    }),
  );
}

/**
 * UTC in the original's format (Python's naive `isoformat()`, microsecond digits), because the
 * REST surface exists for clients written against it; GraphQL carries zoned DateTimes.
 */
export function restTimestamp(date = new Date()): string {
  return `${date.toISOString().slice(0, -1)}000`;
}

export interface ErrorBody {
  success: false;
  error: { message: string; code: number; type: string };
  timestamp: string;
}

export function errorBody(error: AppError, type = typeOf(error.code)): ErrorBody {
  return { success: false, error: { message: error.message, code: error.status, type }, timestamp: restTimestamp() };
}

/**
 * Any failure as a status and the one error body; INTERNAL is logged with an id and masked. A
 * rate-limited client is told when to retry, in the standard header; after an oversized body the
 * connection closes, so the rest of it is not read.
 */
export function toRestError(error: unknown, logger: Logger): { status: number; code: ErrorCode; body: ErrorBody; headers: Record<string, string> } {
  const appError = withRestFieldNames(fromEngineError(error));
  if (appError.code === 'INTERNAL') {
    const errorId = randomUUID();
    logger.error({ errorId, err: error }, 'internal error');
    return { status: appError.status, code: 'INTERNAL', body: errorBody(new AppError('INTERNAL', `Internal server error (id ${errorId})`)), headers: {} };
  }
  const retryAfter = appError.details?.retryAfterSeconds;
  const headers: Record<string, string> = {
    ...(retryAfter !== undefined && { 'retry-after': String(retryAfter) }),
    ...(appError.code === 'PAYLOAD_TOO_LARGE' && { connection: 'close' }),
  };
  return { status: appError.status, code: appError.code, body: errorBody(appError), headers };
}
