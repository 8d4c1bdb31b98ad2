import { existsSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Docker from 'dockerode';

export interface EngineAddress {
  /** As a user would write it: unix:///path or tcp://host:port. */
  url: string;
  /** Why this address was picked: DOCKER_HOST, a standard socket, or the project's own engine. */
  source: string;
}

/** The nearest folder above this code with a package.json: it runs from src/engine/docker/ or bundled in dist/. */
function projectRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}
/** Where scripts/engine.sh runs the project's own engines. */
const PROJECT_ENGINE_DIR = path.join(projectRoot(), '.engine');
export const PROJECT_PODMAN_SOCKET = path.join(PROJECT_ENGINE_DIR, 'podman.sock');
const PROJECT_ENGINE = "the project's own engine (scripts/engine.sh)";

function standardSockets(env: NodeJS.ProcessEnv): string[] {
  const sockets = ['/run/podman/podman.sock', '/var/run/docker.sock'];
  if (env.XDG_RUNTIME_DIR) sockets.push(path.join(env.XDG_RUNTIME_DIR, 'podman', 'podman.sock'));
  return sockets;
}

/** Explicit address first, then the standard sockets, then the project's own local Podman. */
export function selectEngine(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): EngineAddress {
  // npm start points DOCKER_HOST at the project's engine: say which engine that is, not how it was named.
  if (explicit?.startsWith(`unix://${PROJECT_ENGINE_DIR}/`)) return { url: explicit, source: PROJECT_ENGINE };
  if (explicit) return { url: explicit, source: env.DOCKER_HOST ? 'DOCKER_HOST' : 'CONTAINER_HOST' };
  const found = standardSockets(env).find((socket) => existsSync(socket));
  if (found) return { url: `unix://${found}`, source: 'standard socket' };
  return { url: `unix://${PROJECT_PODMAN_SOCKET}`, source: PROJECT_ENGINE };
}

/**
 * One dockerode client for the whole process, shared by every request. With `keptConnections`,
 * a client that opens at most that many connections and keeps them open until it is closed.
 */
export function createDockerClient(address: EngineAddress, { keptConnections }: { keptConnections?: number } = {}): Docker {
  const url = new URL(address.url);
  const protocol = url.protocol === 'https:' ? 'https' : 'http';
  // docker-modem takes an agent, though dockerode's types do not say so.
  const agent = keptConnections ? { agent: new (protocol === 'https' ? https : http).Agent({ keepAlive: true, maxSockets: keptConnections }) } : {};
  if (url.protocol === 'unix:') return new Docker({ socketPath: decodeURIComponent(url.pathname), ...agent } as Docker.DockerOptions);
  return new Docker({ protocol, host: url.hostname, port: Number(url.port || (protocol === 'https' ? 2376 : 2375)), ...agent } as Docker.DockerOptions);
}
