import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GraphQLError } from 'graphql';
import type { Logger } from 'pino';
import { bearerToken, type Authenticator } from '../auth/authenticator.js';
import { hasRole } from '../auth/tokens.js';
import type { Services } from '../core/services.js';
import { sessionFor } from '../core/session.js';
import { AppError, forbidden, type ErrorCode } from '../errors.js';
import { graphqlErrorBody } from './refusal.js';

/** `/recordings/ID.cast`: a terminal recording as a file, for asciinema players and downloads. */
export const RECORDING_PATH = /^\/recordings\/([^/?#]+)\.cast(?:\?.*)?$/;

/**
 * Answers GET /recordings/ID.cast with the recording as asciicast v2, under the same token,
 * role (viewer) and scope as `recording(id) { cast }`; a failure is GraphQL's error body.
 */
export function createRecordingHandler(services: Services, logger: Logger, authenticator: Authenticator, mask: (error: unknown) => Error) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const cancel = new AbortController();
    res.once('close', () => cancel.abort());
    try {
      if (req.method !== 'GET') throw new AppError('METHOD_NOT_ALLOWED', `${req.method} is not allowed on /recordings; use GET`);
      const id = decodeURIComponent(RECORDING_PATH.exec(req.url ?? '')?.[1] ?? '');
      const principal = authenticator.authenticate(bearerToken(req.headers.authorization));
      if (!hasRole(principal, 'viewer')) throw forbidden(`The ${principal.role} role may not read recordings`);
      const session = sessionFor(services, logger, principal, cancel.signal);
      const recording = await services.recordings.find(session, id);
      const cast = await services.recordings.cast(recording);
      res.writeHead(200, {
        'content-type': 'application/x-asciicast; charset=utf-8',
        'content-disposition': `attachment; filename="${recording.id}.cast"`,
        'content-length': Buffer.byteLength(cast),
      });
      res.end(cast);
    } catch (error) {
      const masked = mask(error) as GraphQLError;
      const answer = new AppError(masked.extensions.code as ErrorCode, masked.message);
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(graphqlErrorBody(answer));
    }
  };
}
