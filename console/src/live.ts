import type { AnyVariables, Client, TypedDocumentNode } from '@urql/core';
import { errorCode, errorText } from './api';

/** Errors after which subscribing again can work: the connection, the engine or the server's restart. */
const PASSING = new Set(['ENGINE_UNAVAILABLE', 'SHUTTING_DOWN', 'RATE_LIMITED']);
const FIRST_RETRY_MS = 500;
const LAST_RETRY_MS = 10_000;

export interface LiveHandlers<Data> {
  data(data: Data): void;
  /** The subscription failed for good (a GraphQL error such as NOT_FOUND). */
  failed(message: string): void;
  /** The connection was lost: it subscribes again shortly. */
  reconnecting?(): void;
  /** It has subscribed again after a lost connection (whatever happened meanwhile was not heard). */
  resumed?(): void;
}

/**
 * Keeps a subscription going across lost connections: each new attempt takes its variables from
 * `variables()` at that moment, so a view can resume right after the last cursor it holds.
 * Returns the function that ends it.
 */
export function keepSubscribed<Data, Variables extends AnyVariables>(
  client: Client,
  document: TypedDocumentNode<Data, Variables>,
  variables: () => Variables,
  handlers: LiveHandlers<Data>,
): () => void {
  let ended = false;
  let retryMs = FIRST_RETRY_MS;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let current: { unsubscribe(): void } | undefined;

  const subscribe = (again: boolean) => {
    if (again) handlers.resumed?.();
    current = client.subscription(document, variables()).subscribe((result) => {
      if (ended) return;
      if (result.error) {
        current?.unsubscribe();
        const code = errorCode(result.error);
        if (result.error.networkError || (code && PASSING.has(code))) {
          handlers.reconnecting?.();
          retry = setTimeout(() => subscribe(true), retryMs);
          retryMs = Math.min(retryMs * 2, LAST_RETRY_MS);
        } else {
          handlers.failed(errorText(result.error));
        }
        return;
      }
      retryMs = FIRST_RETRY_MS;
      if (result.data) handlers.data(result.data);
    });
  };
  subscribe(false);
  return () => {
    ended = true;
    clearTimeout(retry);
    current?.unsubscribe();
  };
}
