import type { GraphiQLOptions } from 'graphql-yoga';

/** What GraphiQL opens on the first time: a query and a log subscription to run at once. */
const FIRST_DOCUMENT = `# podgraph: run an operation with ▶ (or Ctrl-Enter in it).
# With tokens, write in the Headers tab below
#   {"Authorization": "Bearer <token>"}
# Queries, mutations and subscriptions all carry it.

query Containers {
  containers {
    name
    image
    state
    status
  }
}

subscription FollowLogs($container: String!, $tail: Int) {
  containerLogBatches(container: $container, tail: $tail) {
    __typename
    ... on LogLine { cursor timestamp stream message }
    ... on StreamGap { missed resumeCursor }
    ... on LogEnd { reason exitCode message }
  }
}
`;

/** Yoga's GraphiQL takes the variables editor's first content too, though its options type omits it. */
export const GRAPHIQL_OPTIONS: GraphiQLOptions & { variables: string } = {
  title: 'podgraph',
  // Subscriptions as yoga's server-sent events on /graphql: each is an HTTP request carrying the
  // Headers tab, as queries do (a WebSocket's connection_init would carry none of it).
  subscriptionsProtocol: 'SSE',
  defaultQuery: FIRST_DOCUMENT,
  variables: JSON.stringify({ container: 'lab1', tail: 20 }, null, 2),
};

/**
 * GraphiQL with every script, style sheet and editor worker inside the page (none from a CDN),
 * so it works offline. The page is the same every time (about 9 MB): loaded on the first visit,
 * so a server nobody opens GraphiQL on never holds it, and rendered once.
 */
export function createGraphiQLRenderer(): (options: GraphiQLOptions) => Promise<string> {
  let page: Promise<string> | undefined;
  return (options) => (page ??= import('@graphql-yoga/render-graphiql').then(({ renderGraphiQL }) => renderGraphiQL(options)));
}
