import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { useGraphQLSSE } from '@graphql-yoga/plugin-graphql-sse';
import type { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { bearerToken, type Authenticator } from '../auth/authenticator.js';
import type { RateLimiter } from '../auth/rate-limit.js';
import { ANONYMOUS, type Principal } from '../auth/tokens.js';
import { AppError, codeOfStatus, ERROR_CODES, type ErrorCode } from '../errors.js';
import type { Metrics } from './metrics.js';
import { graphqlErrorBody } from './refusal.js';

export interface GraphQLSSESecurity {
  authenticator: Authenticator;
  rateLimiter: RateLimiter;
  metrics: Pick<Metrics, 'errorAnswered'>;
  /** The same masking as every transport's. */
  maskError: (error: unknown) => Error;
}

/** Where the graphql-sse protocol is served (its clients' default beside /graphql). */
export const GRAPHQL_SSE_PATH = '/graphql/stream';
/** Where graphql-sse's single-connection mode names the reserved stream. */
const STREAM_TOKEN_HEADER = 'x-graphql-event-stream-token';
const STREAM_TOKEN_PARAM = 'token';

/** What the protocol's bodiless refusals mean, in this API's words. */
const REFUSALS: Partial<Record<number, string>> = {
  404: `No such event stream: reserve one with PUT ${GRAPHQL_SSE_PATH}, or send the operation with Accept: text/event-stream`,
  405: `${GRAPHQL_SSE_PATH} takes GET, POST, PUT and DELETE`,
  406: 'Accept allows no answer this request can have: text/event-stream for a stream; text/plain for PUT; application/json for an operation on a reserved stream',
  415: 'A GraphQL request body must be application/json',
};

/**
 * Stream tokens of single-connection mode, issued on PUT and bound to the bearer token that
 * reserved the stream: `nonce.mac`, where the mac signs the nonce with the token's id. Only
 * that token can open, feed or cancel the stream, and nothing is kept per reservation.
 */
function streamTokens() {
  const secret = randomBytes(32);
  const mac = (nonce: string, tokenId: string) => createHmac('sha256', secret).update(`${nonce}:${tokenId}`).digest('base64url');
  return {
    issue: (tokenId: string) => {
      const nonce = randomUUID();
      return `${nonce}.${mac(nonce, tokenId)}`;
    },
    owns: (streamToken: string, tokenId: string) => {
      const [nonce = '', given = ''] = streamToken.split('.');
      const expected = Buffer.from(mac(nonce, tokenId));
      const actual = Buffer.from(given);
      return actual.length === expected.length && timingSafeEqual(actual, expected);
    },
  };
}

/**
 * The GraphQL over Server-Sent Events protocol (graphql-sse) on /graphql/stream, both modes:
 * distinct connections (one request per operation, Accept: text/event-stream) and single
 * connection (PUT reserves a stream token, GET with it opens the stream, POST adds operations
 * and DELETE ends one). Every request needs a valid bearer token when authentication is on,
 * and each operation runs with its own request's token, like any other. yoga's own SSE on
 * /graphql is unchanged. The protocol's refusals get a code from the table and a JSON body.
 */
export function useGraphQLOverSSE({ authenticator, rateLimiter, metrics, maskError: mask }: GraphQLSSESecurity): Plugin {
  const tokens = streamTokens();
  const refuse = (error: AppError): [string, { status: number; statusText: string; headers: Record<string, string> }] => {
    metrics.errorAnswered(error.code);
    const retryAfter = error.details?.retryAfterSeconds;
    const headers = { ...jsonHeaders(), ...(retryAfter ? { 'retry-after': String(retryAfter) } : {}) };
    return [graphqlErrorBody(error), { status: error.status, statusText: '', headers }];
  };
  const protocol = useGraphQLSSE({
    endpoint: GRAPHQL_SSE_PATH,
    authenticate: (req) => {
      let principal: Principal;
      try {
        principal = authenticator.authenticate(bearerToken(req.headers.get('authorization')));
        // A reservation lasts until its stream has been opened and closed: it takes from the
        // token's bucket, like a subscription start.
        if (req.method === 'PUT' && principal !== ANONYMOUS) rateLimiter.take(principal.tokenId);
      } catch (error) {
        return refuse(error as AppError);
      }
      const { tokenId } = principal;
      if (req.method === 'PUT') return tokens.issue(tokenId);
      const streamToken = req.headers.get(STREAM_TOKEN_HEADER) ?? new URL(req.url, 'http://localhost').searchParams.get(STREAM_TOKEN_PARAM);
      // No stream token: distinct connections mode.
      if (streamToken === null) return undefined;
      // Someone else's stream is answered like one that does not exist.
      return tokens.owns(streamToken, tokenId) ? streamToken : refuse(new AppError('NOT_FOUND', 'No such event stream'));
    },
  });

  /** The protocol's own refusals (no body, or errors without a code) in the one error shape. */
  const coded = async (response: Response): Promise<Response> => {
    if (response.status < 400) return response;
    const errors = parseErrors(await response.clone().text());
    if (errors?.length && errors.every((e) => typeof e.extensions?.code === 'string')) return response;
    const error = new AppError(codeOfStatus(response.status) ?? 'BAD_USER_INPUT', errors?.[0]?.message ?? REFUSALS[response.status] ?? response.statusText);
    metrics.errorAnswered(error.code);
    const headers = new Headers(response.headers);
    headers.delete('content-length');
    headers.set('content-type', JSON_CONTENT_TYPE);
    return new Response(graphqlErrorBody(error), { status: response.status, headers });
  };

  return {
    ...protocol,
    onRequest: async (payload) => {
      if (new URL(payload.request.url).pathname !== GRAPHQL_SSE_PATH) return;
      let answer: Response | undefined;
      try {
        await protocol.onRequest!({ ...payload, endResponse: (response) => void (answer = response) });
      } catch (failure) {
        // What the protocol does not catch: a document that does not parse or is over a query limit.
        const error = mask(failure) as GraphQLError;
        const { http: _http, ...extensions } = error.extensions;
        const status = ERROR_CODES[extensions.code as ErrorCode].status;
        answer = new Response(JSON.stringify({ errors: [{ ...error.toJSON(), extensions }] }), { status, headers: jsonHeaders() });
      }
      if (answer) payload.endResponse(await coded(answer));
    },
  };
}

const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';
/** A fresh object each time: a Response may add its body's length to the headers object it is given. */
const jsonHeaders = (): Record<string, string> => ({ 'content-type': JSON_CONTENT_TYPE });

function parseErrors(body: string): { message?: string; extensions?: { code?: unknown } }[] | undefined {
  try {
    return (JSON.parse(body) as { errors?: { message?: string; extensions?: { code?: unknown } }[] }).errors;
  } catch {
    return undefined;
  }
}
