import { ZodError } from 'zod';

/**
 * The one table of error codes. Every failure a client sees carries one of these in
 * `extensions.code` (GraphQL) or maps to its HTTP status (REST). README documents it.
 */
export const ERROR_CODES = {
  BAD_USER_INPUT: { status: 400, meaning: 'A missing, malformed or out-of-range argument.' },
  UNAUTHENTICATED: { status: 401, meaning: "No token, or a token that is not configured; a student's token that was revoked or whose lab has expired." },
  FORBIDDEN: { status: 403, meaning: "The token's role, or the container policy, does not allow this." },
  NOT_FOUND: { status: 404, meaning: 'No such container, image, user, file, lab, lab template, student or token.' },
  METHOD_NOT_ALLOWED: { status: 405, meaning: 'The REST path exists but not with this HTTP method.' },
  NOT_ACCEPTABLE: { status: 406, meaning: 'The Accept header allows no answer this request can have (a subscription over HTTP needs text/event-stream).' },
  TIMEOUT: { status: 408, meaning: 'The operation did not finish within its time bound; its work was stopped.' },
  CONFLICT: { status: 409, meaning: 'The request contradicts current state: name in use, duplicate user, container running or not running.' },
  PAYLOAD_TOO_LARGE: { status: 413, meaning: 'The request body is over the size bound.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, meaning: 'The request body is not of a type the endpoint reads (GraphQL takes application/json).' },
  RATE_LIMITED: { status: 429, meaning: 'Too many mutations or subscriptions for this token, or subscriptions on this connection, or more engine work than MAX_QUEUE_WAIT admits; retryAfterSeconds says when to retry.' },
  HEADERS_TOO_LARGE: { status: 431, meaning: 'The request line and headers are over the size bound.' },
  INTERNAL: { status: 500, meaning: 'An unexpected failure; the message is masked and logged with an id.' },
  ENGINE_UNAVAILABLE: { status: 503, meaning: 'The container engine cannot be reached.' },
  STORE_UNAVAILABLE: { status: 503, meaning: "The history database could not record an action that was done (the action stands; the server's log has it), or cannot be read." },
  SHUTTING_DOWN: { status: 503, meaning: 'The server is shutting down: the operation was refused, or stopped and its processes killed.' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The code of a status that has one in the table: yoga's own refusals (405, 406, 415…); not for 503, which two codes share. */
export function codeOfStatus(status: number): ErrorCode | undefined {
  return (Object.keys(ERROR_CODES) as ErrorCode[]).find((code) => ERROR_CODES[code].status === status);
}

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'AppError';
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }
}

export const badInput = (message: string, details?: Record<string, unknown>) =>
  new AppError('BAD_USER_INPUT', message, details);
export const notFound = (message: string) => new AppError('NOT_FOUND', message);
export const conflict = (message: string) => new AppError('CONFLICT', message);
export const forbidden = (message: string) => new AppError('FORBIDDEN', message);
/** A user or group a request names that the container does not have, whichever operation named it. */
export const noSuchAccount = (kind: string, name: string) => notFound(`No such ${kind} in the container: ${name}`);
export const shuttingDown = () => new AppError('SHUTTING_DOWN', 'The server is shutting down; try again once it is back');

export interface FieldIssue {
  field: string;
  message: string;
}

/** One readable BAD_USER_INPUT naming each offending field. */
export function invalidFields(issues: FieldIssue[]): AppError {
  const summary = issues.map((i) => `${i.field}: ${i.message}`).join('; ');
  return badInput(`Invalid input: ${summary}`, { issues });
}

/** Turns a zod failure into one readable BAD_USER_INPUT naming each offending field. */
export function fromZodError(error: ZodError): AppError {
  return invalidFields(error.issues.map((issue) => ({ field: issue.path.join('.') || '(input)', message: issue.message })));
}

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOENT', 'EACCES', 'ECONNRESET', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE']);

interface EngineErrorShape {
  statusCode?: number;
  code?: string;
  reason?: string;
  json?: { message?: string; cause?: string } | null;
  message?: string;
}

/**
 * Engine messages name containers, images and volumes by ID ("already in use by container
 * <64 hex>"); an ID, or even its first 12 characters, is a reference to something that may lie
 * outside the caller's scope, so none reaches a client.
 */
const withheldIds = (text: string) => text.replace(/(sha256:)?\b[0-9a-f]{12,64}\b/g, '(ID withheld)');

function engineMessage(error: EngineErrorShape): string {
  const fromJson = error.json && typeof error.json === 'object' ? error.json.message : undefined;
  const text = fromJson ?? error.message ?? 'engine error';
  // docker-modem prefixes "(HTTP code 404) no such container - "; keep only the engine's words.
  return withheldIds(text.replace(/^\(HTTP code \d+\)\s*[^-]*-\s*/, '').trim());
}

/**
 * Maps an error thrown by the engine's client (or a socket) to the table. Unknown shapes become
 * INTERNAL so their text is never shown to a client.
 */
export function fromEngineError(error: unknown, subject?: string): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof ZodError) return fromZodError(error);
  const e = (error ?? {}) as EngineErrorShape;
  if (e.code && UNREACHABLE_CODES.has(e.code) && !e.statusCode) {
    return new AppError('ENGINE_UNAVAILABLE', `Container engine unreachable (${e.code})`);
  }
  if (e.code === 'ABORT_ERR' || (error as Error)?.name === 'AbortError') {
    return new AppError('TIMEOUT', 'Operation aborted before it finished');
  }
  // docker-modem encodes request values into the URL; only malformed client text fails that.
  if (error instanceof URIError) return badInput('The request holds text that cannot be encoded');
  const message = engineMessage(e);
  const lower = message.toLowerCase();
  const missing = /no such (container|image|file|object)|not found|not known|could not find|does not exist/;
  switch (e.statusCode) {
    case 404:
      return notFound(subject ? `${subject}: ${message}` : message);
    case 409:
      return conflict(message);
    case 400:
      return badInput(message);
    case 500:
      // A user the container does not have (Podman refuses the exec itself).
      const account = /unable to find (user|group) ([^:\s]+)/.exec(message);
      if (account) return noSuchAccount(account[1]!, account[2]!);
      // A command the container cannot run is the request's fault.
      if (/executable file not found|unable to start container process|exec format error|permission denied/.test(lower)) {
        return badInput(message);
      }
      // Podman reports several "not found" and "in use" cases as 500.
      if (missing.test(lower)) return notFound(message);
      if (/already in use|is in use|already exists/.test(lower)) return conflict(message);
      if (/not running|is running|state improper|stopped container/.test(lower)) return conflict(message);
      // Podman reports a malformed image reference ("repository name must be lowercase") as 500.
      if (/no such file or directory|invalid|must be lowercase/.test(lower)) return badInput(message);
      break;
  }
  return new AppError('INTERNAL', message, { cause: error });
}
