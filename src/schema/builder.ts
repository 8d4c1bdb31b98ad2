import SchemaBuilder from '@pothos/core';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { hasRole } from '../auth/tokens.js';
import { AppError } from '../errors.js';
import type { Context } from './context.js';

export const builder = new SchemaBuilder<{
  Context: Context;
  Scalars: { DateTime: { Input: Date; Output: Date }; FileMode: { Input: number | string; Output: number } };
  DefaultFieldNullability: false;
  DefaultInputFieldRequiredness: true;
  /** One scope per role; a role has the scopes of the roles below it. */
  AuthScopes: { viewer: boolean; operator: boolean; admin: boolean };
}>({
  plugins: [ScopeAuthPlugin, RelayPlugin],
  // Connections only: records are fetched by their own ids, not through a global `node` field.
  relay: { clientMutationId: 'omit', cursorType: 'String', nodeQueryOptions: false, nodesQueryOptions: false },
  defaultFieldNullability: false,
  defaultInputFieldRequiredness: true,
  scopeAuth: {
    // Subscriptions are authorized once, when they start, not per event.
    authorizeOnSubscribe: true,
    authScopes: (ctx) => ({
      viewer: hasRole(ctx.principal, 'viewer'),
      operator: hasRole(ctx.principal, 'operator'),
      admin: hasRole(ctx.principal, 'admin'),
    }),
    unauthorizedError: (_parent, ctx, info) =>
      new AppError('FORBIDDEN', `The ${ctx.principal.role} role may not use ${info.parentType.name}.${info.fieldName}`),
  },
});

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});
