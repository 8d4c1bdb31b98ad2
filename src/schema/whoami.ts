import type { Principal } from '../auth/tokens.js';
import { builder } from './builder.js';
import { LabelRef } from './container.js';

const WhoamiRef = builder.objectRef<Principal>('Whoami').implement({
  description: 'The token a request carries, so a client can offer only what its role may do.',
  fields: (t) => ({
    tokenId: t.exposeString('tokenId', { description: '"anonymous" when authentication is off.' }),
    role: t.string({ description: 'viewer, operator or admin.', resolve: (p) => p.role }),
    scoped: t.boolean({ description: 'Whether it sees only some containers.', resolve: (p) => p.scope !== null }),
    account: t.string({
      nullable: true,
      description: "A student's token: the account in their container its commands and terminals run as (files and accounts, which act as root, are closed to it).",
      resolve: (p) => p.student?.id ?? null,
    }),
    scopeLabels: t.field({
      type: [LabelRef],
      description: 'Labels every container in its scope has (and every container it creates gets).',
      resolve: (p) => Object.entries(p.scope?.labels ?? {}).map(([key, value]) => ({ key, value })),
    }),
  }),
});

builder.queryFields((t) => ({
  whoami: t.field({ type: WhoamiRef, authScopes: { viewer: true }, resolve: (_, __, ctx) => ctx.principal }),
}));
