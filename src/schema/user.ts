import type { UserModel } from '../core/users.js';
import { builder } from './builder.js';
import { ContainerRef, stripNulls } from './container.js';

export const UserRef = builder.objectRef<UserModel>('User').implement({
  description: "An account in a container's /etc/passwd.",
  fields: (t) => ({
    username: t.exposeString('username'),
    uid: t.exposeInt('uid'),
    gid: t.exposeInt('gid'),
    home: t.exposeString('home'),
    shell: t.exposeString('shell'),
    groups: t.exposeStringList('groups', { description: 'Primary group first.' }),
  }),
});

builder.objectField(ContainerRef, 'users', (t) =>
  t.field({ type: [UserRef], resolve: (c, _, ctx) => ctx.services.users.list(c.id) }),
);

const AddUserInput = builder.inputType('AddUserInput', {
  fields: (t) => ({
    username: t.string(),
    password: t.string({ required: false, description: 'Passed over stdin or hashed; never on a command line.' }),
    shell: t.string({ required: false, description: 'Default /bin/sh.' }),
    groups: t.stringList({ required: false, description: 'Existing groups to add the user to.' }),
    home: t.string({ required: false, description: 'Default /home/USERNAME.' }),
  }),
});

builder.mutationFields((t) => ({
  addUser: t.field({
    type: UserRef,
    description: 'Adds an account with useradd, else adduser, else by editing the account files.',
    authScopes: { operator: true },
    args: { container: t.arg.string({ required: true }), input: t.arg({ type: AddUserInput, required: true }) },
    resolve: async (_, { container, input }, ctx) => ctx.services.users.add(ctx, container, stripNulls(input)),
  }),
  removeUser: t.boolean({
    authScopes: { operator: true },
    args: {
      container: t.arg.string({ required: true }),
      username: t.arg.string({ required: true }),
      removeHome: t.arg.boolean({ required: false, defaultValue: false }),
    },
    resolve: async (_, args, ctx) => ctx.services.users.remove(ctx, args.container, args.username, args.removeHome ?? false),
  }),
}));
