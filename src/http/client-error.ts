import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { AppError } from '../errors.js';
import type { Metrics } from './metrics.js';
import { refusalBody } from './refusal.js';

/** What Node's HTTP parser refused, in the table's terms. */
function refusalOf(error: NodeJS.ErrnoException): AppError {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return new AppError('HEADERS_TOO_LARGE', 'The request line and headers are over the server bound; send long values in a POST body');
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return new AppError('PAYLOAD_TOO_LARGE', 'The chunk extensions are over the server bound');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new AppError('TIMEOUT', 'The request did not arrive in time');
    default:
      return new AppError('BAD_USER_INPUT', 'The request is not well-formed HTTP');
  }
}

/**
 * Answers a request Node's parser refused (Node's own answer has no body) with the one error
 * body, in the REST shape when its request line names a REST path. The request line is read
 * from what the parser kept, which is all there is: the request never became a request.
 */
export function answerClientError(error: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Duplex, metrics: Pick<Metrics, 'errorAnswered'>): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const refusal = refusalOf(error);
  metrics.errorAnswered(refusal.code);
  const target = /^[A-Z]+ (\S+)/.exec(error.rawPacket?.subarray(0, 200).toString('latin1') ?? '')?.[1];
  const body = refusalBody(target, refusal);
  socket.end(
    `HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status]}\r\n` +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}
