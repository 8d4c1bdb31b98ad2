import type { CodegenConfig } from '@graphql-codegen/cli';

// Typed documents for the tests and for TypeScript clients, from the checked-in schema.
const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['test/**/*.ts', '!test/gql/**'],
  ignoreNoDocuments: true,
  // NodeNext resolution needs explicit .js extensions in the generated imports.
  emitLegacyCommonJSImports: false,
  generates: {
    'test/gql/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        enumsAsTypes: true,
        useTypeImports: true,
        scalars: { DateTime: 'string', FileMode: { input: 'string | number', output: 'number' } },
      },
    },
  },
};

export default config;
