import { expect } from 'vitest';
import { bearer } from './auth-kit.js';
import type { TestServer } from './kit.js';

export interface RestAnswer {
  status: number;
  headers: Headers;
  /** Parsed JSON, asserted field by field in the tests. */
  body: any;
}

/** A body sent as is, for malformed JSON and other bodies JSON.stringify cannot produce. */
export class RawBody {
  constructor(readonly text: string) {}
}

/** Plain `fetch` against `/api/v1`, the way the original service's clients talk to it; with a bearer token if given. */
export function restClient(server: TestServer, token?: string) {
  return async (method: string, path: string, body?: unknown): Promise<RestAnswer> => {
    const text = body === undefined ? undefined : body instanceof RawBody ? body.text : JSON.stringify(body);
    const response = await fetch(`${server.url}/api/v1${path}`, {
      method,
      headers: {
        ...(text === undefined ? {} : { 'content-type': 'application/json' }),
        ...bearer(token),
      },
      body: text,
    });
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    return { status: response.status, headers: response.headers, body: await response.json() };
  };
}

/** The original's timestamp format: UTC, no zone, microsecond digits. */
export const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$/;

/** Asserts the one error shape, with the HTTP status repeated as `code`. */
export function expectError(answer: RestAnswer, status: number, type?: string): void {
  expect(answer.status, JSON.stringify(answer.body)).toBe(status);
  expect(answer.body).toEqual({
    success: false,
    error: { message: expect.any(String), code: status, type: type ?? expect.any(String) },
    timestamp: expect.stringMatching(TIMESTAMP),
  });
  expect(answer.body.error.message).not.toBe('');
}
