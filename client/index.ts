/**
 * podgraph's operations as typed documents, for any client that takes a TypedDocumentNode
 * (urql, Apollo, graphql-request, graphql-ws with a printer): `npm run codegen` generates them
 * from client/operations.graphql against schema.graphql.
 */
export * from './generated/graphql.js';
