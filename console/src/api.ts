import { Client, CombinedError, fetchExchange, subscriptionExchange, type AnyVariables, type TypedDocumentNode } from '@urql/core';
import { createClient as createWsClient } from 'graphql-ws';

/** The server's GraphQL endpoint, on the page's own origin. */
const ENDPOINT = '/graphql';

export interface Api {
  client: Client;
  dispose(): void;
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
  return { client, dispose: () => void ws.dispose() };
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
