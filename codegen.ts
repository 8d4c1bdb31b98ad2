import type { CodegenConfig } from '@graphql-codegen/cli';

/** Typed documents, with podgraph's scalars as they travel in JSON. */
const typedDocuments = {
  preset: 'client',
  presetConfig: { fragmentMasking: false },
  config: {
    enumsAsTypes: true,
    useTypeImports: true,
    scalars: { DateTime: 'string', FileMode: { input: 'string | number', output: 'number' } },
  },
} as const;

// From the checked-in schema: the tests' documents, and the client's (imported as "podgraph/client").
const config: CodegenConfig = {
  schema: 'schema.graphql',
  ignoreNoDocuments: true,
  // NodeNext resolution needs explicit .js extensions in the generated imports.
  emitLegacyCommonJSImports: false,
  generates: {
    'test/gql/': { documents: ['test/**/*.ts', '!test/gql/**'], ...typedDocuments },
    'client/generated/': { documents: ['client/**/*.graphql'], ...typedDocuments },
  },
};

export default config;
