// Builds dist/main.js: the server and its dependencies as one ES module, without comments or
// indentation (`npm run build` type-checks first). Loaded as its ~1,200 separate files, the same
// code kept about 20 MB more resident at idle: V8 keeps every module's source text and Node its
// records, and the loaders' garbage grows V8's young generation to its maximum during start-up.
// One file also starts faster.
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * dockerode loads its SSH transport (ssh2, with native addons) and its BuildKit session and build
 * support (gRPC, protobuf) whether they are used or not: about 7 MB resident. podgraph uses
 * neither (DOCKER_HOST is unix, tcp, http or https; no image is built), so the bundle has in
 * their place a module whose every export fails, loudly, if it is ever called.
 */
const UNUSED_BY_PODGRAPH = /^(ssh2|@grpc\/grpc-js|@grpc\/proto-loader|protobufjs)$/;
const leaveOutUnused: Plugin = {
  name: 'leave-out-unused',
  setup(bundle) {
    bundle.onResolve({ filter: UNUSED_BY_PODGRAPH }, (args) => ({ path: args.path, namespace: 'left-out' }));
    bundle.onLoad({ filter: /.*/, namespace: 'left-out' }, (args) => ({
      loader: 'js',
      contents: `const fail = () => { throw new Error(${JSON.stringify(`${args.path} is left out of the podgraph build`)}); };
module.exports = new Proxy({}, { get: (_, key) => (key === '__esModule' ? undefined : fail) });`,
    }));
  },
};

rmSync(`${root}dist`, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: ['src/main.ts'],
  outfile: 'dist/main.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // pino reads the worker scripts of its transports beside its own files at run time: it loads
  // from node_modules as before. So does the GraphiQL page (9 MB of scripts in strings), on the
  // first visit only, instead of sitting in every server's memory.
  // better-sqlite3 finds its native addon beside its own files, so it loads from node_modules too.
  external: ['pino', '@graphql-yoga/render-graphiql', 'better-sqlite3'],
  plugins: [leaveOutUnused],
  // The bundled CommonJS packages call require(), which an ES module does not have.
  banner: { js: "import { createRequire as createRequireForBundle } from 'node:module'; const require = createRequireForBundle(import.meta.url);" },
  // Drops comments, so the output stays ASCII: one character beyond Latin-1 anywhere (a dash in
  // a dependency's comment) makes V8 keep the whole source at two bytes per character. Names
  // stay as they are, for stack traces; `node --enable-source-maps` maps them to src/.
  minifyWhitespace: true,
  sourcemap: true,
  logLevel: 'warning',
});
