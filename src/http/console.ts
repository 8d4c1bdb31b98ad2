import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppError } from '../errors.js';
import type { Metrics } from './metrics.js';
import { refusalBody } from './refusal.js';

/** Where the console's built assets are served from: Vite's `base` in console/vite.config.ts. */
const CONSOLE_ASSETS = '/console/';

/** The paths the console answers: its page at `/` and everything under its asset prefix. */
export function isConsolePath(url: string | undefined): boolean {
  const path = url?.split('?')[0];
  return path === '/' || path === '/index.html' || `${path}/` === CONSOLE_ASSETS || (path?.startsWith(CONSOLE_ASSETS) ?? false);
}

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};

/**
 * The page may load and connect to its own origin only. connect-src names the WebSocket of this
 * host too, which older browsers do not count as 'self'. Styles may be inline: xterm.js writes
 * its theme and cell sizes into <style> elements it creates.
 */
function securityHeaders(host: string | undefined): Record<string, string> {
  const sockets = host ? ` ws://${host} wss://${host}` : '';
  return {
    'content-security-policy': [
      "default-src 'self'",
      `connect-src 'self'${sockets}`,
      "style-src 'self' 'unsafe-inline'",
      "img-src 'self' data: blob:",
      "object-src 'none'",
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ].join('; '),
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
  };
}

/** The project's root: the nearest folder with a package.json above this module (src/http/ from source, dist/ in the bundle). */
function packageRoot(): string {
  let folder = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(folder, 'package.json')) && dirname(folder) !== folder) folder = dirname(folder);
  return folder;
}

/** The output of `npm run build:console` (console/vite.config.ts writes it there). */
const BUILD_FOLDER = join(packageRoot(), 'console', 'dist');
const INDEX_FILE = join(BUILD_FOLDER, 'index.html');

interface Build {
  indexModified: number;
  index: Buffer;
  /** Asset names under assets/, which are the only files served: a request can name nothing else. */
  assets: Set<string>;
}

let current: Build | undefined;

/** The build on disk, read again when it was rebuilt; undefined while there is none. */
function loadBuild(): Build | undefined {
  let indexModified: number;
  try {
    indexModified = statSync(INDEX_FILE).mtimeMs;
  } catch {
    return (current = undefined);
  }
  if (current?.indexModified !== indexModified) {
    const assetFolder = join(BUILD_FOLDER, 'assets');
    const assets = existsSync(assetFolder) ? readdirSync(assetFolder) : [];
    current = { indexModified, index: readFileSync(INDEX_FILE), assets: new Set(assets) };
  }
  return current;
}

const NOT_BUILT = "podgraph's console is not built yet: run `npm run build` (or `npm run build:console`) and reload this page.\n";

/** Serves the console: its page at `/` (never cached) and its content-hashed assets (cached for good). */
export async function serveConsole(req: IncomingMessage, res: ServerResponse, metrics: Metrics): Promise<void> {
  const refuse = (error: AppError, headers: Record<string, string> = {}) => {
    metrics.errorAnswered(error.code);
    res.writeHead(error.status, { 'content-type': 'application/json', ...headers }).end(refusalBody(req.url, error));
  };
  if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(new AppError('METHOD_NOT_ALLOWED', `The console answers GET and HEAD, not ${req.method}`), { allow: 'GET, HEAD' });

  const path = req.url!.split('?')[0]!;
  const build = loadBuild();
  const headers = securityHeaders(req.headers.host);
  const send = (status: number, type: string, cache: string, body: Buffer | string) =>
    res.writeHead(status, { ...headers, 'content-type': type, 'cache-control': cache }).end(req.method === 'HEAD' ? undefined : body);

  if (path === '/' || path === '/index.html') {
    if (!build) return void send(503, 'text/plain; charset=utf-8', 'no-store', NOT_BUILT);
    return void send(200, 'text/html; charset=utf-8', 'no-cache', build.index);
  }
  const name = path.slice(`${CONSOLE_ASSETS}assets/`.length);
  if (!path.startsWith(`${CONSOLE_ASSETS}assets/`) || !build?.assets.has(name)) {
    return refuse(new AppError('NOT_FOUND', `No such console file: ${path}`));
  }
  const type = CONTENT_TYPES[extname(name)] ?? 'application/octet-stream';
  send(200, type, 'public, max-age=31536000, immutable', await readFile(join(BUILD_FOLDER, 'assets', name)));
}
