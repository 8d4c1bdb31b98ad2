import { readFileSync } from 'node:fs';
import { createApp } from './app.js';
import { ConfigError, helpText, loadConfig, type Config } from './config.js';
import { StoreOpenError } from './store/database.js';
import { createLogger } from './logger.js';

/** The command line: --help and --version answer before any configuration is read; nothing else is accepted. */
function answerOptions(args: readonly string[]): void {
  const [option] = args;
  if (option === undefined) return;
  if (option === '--help') {
    process.stdout.write(helpText());
  } else if (option === '--version') {
    // package.json sits one level above both src/main.ts and the bundle's dist/main.js.
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    process.stdout.write(`${version}\n`);
  } else {
    process.stderr.write(`podgraph: unknown option ${option} (see --help)\n`);
    process.exit(1);
  }
  process.exit(0);
}

/** One line saying why the server cannot listen. */
function listenFailure(error: NodeJS.ErrnoException, { host, port }: Config): string {
  switch (error.code) {
    case 'EADDRINUSE':
      return `Port ${port} on ${host} is in use`;
    case 'EACCES':
      return `Port ${port} on ${host} needs privileges this process lacks`;
    case 'EADDRNOTAVAIL':
      return `Address ${host} is not one of this machine's`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `Host ${host} does not resolve`;
    default:
      return `Cannot listen on ${host}:${port}: ${error.code ?? error.message}`;
  }
}

answerOptions(process.argv.slice(2));

function readConfig() {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`podgraph: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

const config = readConfig();
// Only the hashes are kept: drop the inline secrets from the environment children would inherit.
delete process.env.AUTH_TOKENS;
const logger = createLogger(config.logLevel, config.logFormat ?? (process.stdout.isTTY ? 'pretty' : 'json'));
const app = createApp(config, logger);

// Before anything else: a signal that came before its handler would end the process at once,
// with no shutdown at all.
let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    app.stop().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (error) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  });
}

const url = await app.start().catch((error: NodeJS.ErrnoException) => {
  process.stderr.write(`podgraph: ${error instanceof StoreOpenError ? error.message : listenFailure(error, config)}\n`);
  process.exit(1);
});

const health = await app.services.system.health();
if (health.engine) {
  logger.info({ engine: health.engine, address: app.engineAddress }, `engine: ${health.engine.name} ${health.engine.version} at ${app.engineAddress.url} (${app.engineAddress.source})`);
} else {
  logger.warn({ address: app.engineAddress }, `engine at ${app.engineAddress.url} not reachable: ${health.engineError}`);
}
logger.info(`GraphQL${config.graphiql ? ' and GraphiQL' : ''} at ${url}/graphql`);
if (config.tokens.length) logger.info({ tokens: config.tokens.length }, `authentication on: ${config.tokens.length} token(s)`);
else logger.warn(`authentication off: no tokens configured and ${config.host} is loopback, so every request acts as admin`);
