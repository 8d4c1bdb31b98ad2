import { Client, CombinedError, fetchExchange, stringifyDocument, subscriptionExchange, type AnyVariables, type TypedDocumentNode } from '@urql/core';
import { createClient as createWsClient } from 'graphql-ws';

/** The server's GraphQL endpoint, on the page's own origin. */
const ENDPOINT = '/graphql';

export interface Api {
  client: Client;
  /** Runs a subscription that ends on its own (a check across a lab), with its end told: urql's client does not tell it. Returns how to stop it. */
  stream<Data, Variables extends AnyVariables>(document: TypedDocumentNode<Data, Variables>, variables: Variables, handlers: StreamHandlers<Data>): () => void;
  dispose(): void;
}

export interface StreamHandlers<Data> {
  next(data: Data): void;
  failed(message: string): void;
  complete(): void;
}

/** urql over HTTP for queries and mutations, graphql-ws for subscriptions, both carrying the token if there is one. */
export function connect(token: string | undefined): Api {
  const authorization = token ? `Bearer ${token}` : undefined;
  const ws = createWsClient({
    url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${ENDPOINT}`,
    connectionParams: authorization ? { authorization } : {},
    // graphql-ws would replay a subscription's first variables after a reconnect; each live view
    // resumes from its own cursor instead (live.ts).
    retryAttempts: 0,
  });
  const client = new Client({
    url: ENDPOINT,
    requestPolicy: 'network-only',
    fetchOptions: authorization ? { headers: { authorization } } : {},
    exchanges: [
      fetchExchange,
      subscriptionExchange({
        forwardSubscription: (request) => ({
          subscribe: (sink) => ({ unsubscribe: ws.subscribe({ ...request, query: request.query ?? '' }, sink) }),
        }),
      }),
    ],
  });
  return {
    client,
    stream: (document, variables, handlers) =>
      ws.subscribe(
        { query: stringifyDocument(document), variables: variables as Record<string, unknown> },
        {
          next: (result) => (result.errors?.length ? handlers.failed(result.errors[0]!.message) : result.data && handlers.next(result.data as never)),
          error: (error) => handlers.failed(error instanceof Error ? error.message : Array.isArray(error) ? String(error[0]?.message) : 'The connection was lost'),
          complete: handlers.complete,
        },
      ),
    dispose: () => void ws.dispose(),
  };
}

/** The API's error code (extensions.code) of a failed result, if the server gave one. */
export function errorCode(error: CombinedError | undefined): string | undefined {
  return error?.graphQLErrors.map((e) => e.extensions?.code).find((code): code is string => typeof code === 'string');
}

/** A failure as one line for a person: the server's message, without urql's "[GraphQL]" prefix. */
export function errorText(error: CombinedError): string {
  return error.graphQLErrors[0]?.message ?? error.networkError?.message ?? error.message;
}

/** Runs a query or mutation; throws its error as one readable line. */
export async function run<Data, Variables extends AnyVariables>(
  client: Client,
  document: TypedDocumentNode<Data, Variables>,
  variables: Variables,
  kind: 'query' | 'mutation' = 'query',
): Promise<Data> {
  const result = await (kind === 'query' ? client.query(document, variables) : client.mutation(document, variables)).toPromise();
  if (result.error) throw new ApiError(errorText(result.error), errorCode(result.error));
  return result.data as Data;
}

export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}
