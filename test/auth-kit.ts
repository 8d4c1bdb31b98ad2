import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type GraphQLFormattedError } from 'graphql';
import { createClient } from 'graphql-ws';
import { afterAll } from 'vitest';
import WebSocket from 'ws';
import { CreateContainer, RemoveContainer } from './documents.js';
import type { CreateContainerInput } from './gql/graphql.js';
import { BUSYBOX_IMAGE, TEST_LABEL, uniqueName, type Result } from './kit.js';

/** One token per role, plus a scoped operator and a spare operator for rate-limit bursts. */
export const TOKENS = {
  admin: 'admin-secret-token-000001',
  operator: 'operator-secret-token-0002',
  viewer: 'viewer-secret-token-000003',
  scoped: 'scoped-secret-token-000004',
  burst: 'burst-secret-token-0000005',
};
export type Token = keyof typeof TOKENS;

/** AUTH_TOKENS for a test server; the `scoped` token sees only containers labelled lab=`lab`. */
export function authTokens(lab: string): string {
  return JSON.stringify([
    { id: 'admin', role: 'admin', token: TOKENS.admin },
    { id: 'operator', role: 'operator', token: TOKENS.operator },
    { id: 'viewer', role: 'viewer', token: TOKENS.viewer },
    { id: 'scoped', role: 'operator', token: TOKENS.scoped, scope: { labels: [`lab=${lab}`] } },
    { id: 'burst', role: 'operator', token: TOKENS.burst },
  ]);
}

/** A result as a client sees it, with the HTTP status or the WebSocket close code where there is one. */
export type Outcome<T> = Result<T> & { status?: number; closeCode?: number };

export const bearer = (token: string | undefined): Record<string, string> => (token ? { authorization: `Bearer ${token}` } : {});
export const codes = (result: Outcome<unknown>) => (result.errors ?? []).map((e) => e.extensions?.code);

/** Every transport runs the same document the same way: HTTP POST, SSE and graphql-ws. */
export const transports = {
  async http<T>(url: string, token: string | undefined, query: string, variables?: unknown): Promise<Outcome<T>> {
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...bearer(token) },
      body: JSON.stringify({ query, variables }),
    });
    return { status: response.status, ...((await response.json()) as Result<T>) };
  },

  /** Reads the first result of an SSE response (yoga's GraphQL over SSE), then hangs up. */
  async sse<T>(url: string, token: string | undefined, query: string, variables?: unknown): Promise<Outcome<T>> {
    const controller = new AbortController();
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...bearer(token) },
      body: JSON.stringify({ query, variables }),
      signal: controller.signal,
    });
    if (!response.headers.get('content-type')?.includes('text/event-stream')) {
      return { status: response.status, ...((await response.json()) as Result<T>) };
    }
    const decoder = new TextDecoder();
    let text = '';
    try {
      for await (const chunk of response.body!) {
        text += decoder.decode(chunk as Uint8Array, { stream: true });
        const event = /event: next\ndata: (.*)\n\n/.exec(text);
        if (event) return { status: response.status, ...(JSON.parse(event[1]!) as Result<T>) };
        if (text.includes('event: complete')) break;
      }
    } finally {
      controller.abort();
    }
    throw new Error(`no result in ${JSON.stringify(text)}`);
  },

  /** Runs one operation on its own graphql-ws connection; resolves with its first result or how it closed. */
  ws<T>(url: string, token: string | undefined, query: string, variables?: unknown): Promise<Outcome<T>> {
    const client = createClient({
      url: `${url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: bearer(token),
    });
    return new Promise<Outcome<T>>((resolve) => {
      const stop = client.subscribe<T>(
        { query, variables: variables as Record<string, unknown> },
        {
          next: (result) => {
            resolve(result as Outcome<T>);
            stop();
          },
          error: (error) => {
            if (Array.isArray(error)) resolve({ errors: error as GraphQLFormattedError[] });
            else resolve({ closeCode: (error as { code?: number }).code });
          },
          complete: () => resolve({}),
        },
      );
    }).finally(() => client.dispose());
  },
};
export const TRANSPORTS = Object.keys(transports) as Array<keyof typeof transports>;
export type Transport = keyof typeof transports;

/** A typed document sent as `token` over a transport to the server at `url`. */
export function sendAs<T, V>(url: string, transport: Transport, token: Token | undefined, document: TypedDocumentNode<T, V>, variables?: V) {
  return transports[transport]<T>(url, token && TOKENS[token], print(document), variables);
}

/**
 * Creates sleeping busybox containers as a token, through GraphQL (so the policy and scopes
 * apply), and removes them all as admin after the file.
 */
export function containerMaker(url: string) {
  const created: string[] = [];
  afterAll(async () => {
    await Promise.all(created.map((name) => sendAs(url, 'http', 'admin', RemoveContainer, { container: name, force: true })));
  });
  const create = (token: Token, input: Partial<CreateContainerInput> = {}) => {
    const name = uniqueName('sec');
    created.push(name);
    return sendAs(url, 'http', token, CreateContainer, {
      input: { image: BUSYBOX_IMAGE, name, command: 'sleep 3600', ...input, labels: [{ key: TEST_LABEL, value: '1' }, ...(input.labels ?? [])] },
    });
  };
  /** Creates and fails unless the container runs. */
  const createOk = async (token: Token, input: Partial<CreateContainerInput> = {}) => {
    const result = await create(token, input);
    if (!result.data) throw new Error(`create failed: ${JSON.stringify(result.errors)}`);
    return result.data.createContainer;
  };
  return { create, createOk };
}
