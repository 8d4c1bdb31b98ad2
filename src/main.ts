import { createApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './logger.js';

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
const logger = createLogger(config.logLevel);
const app = createApp(config, logger);

const url = await app.start().catch((error: NodeJS.ErrnoException) => {
  logger.fatal({ err: error }, `cannot listen on ${config.host}:${config.port}: ${error.code ?? error.message}`);
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
