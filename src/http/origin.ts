import type { IncomingMessage } from 'node:http';
import { isIPv4, isIPv6 } from 'node:net';
import { AppError } from '../errors.js';

/** Where a request must come from: the CORS_ORIGINS and ALLOWED_HOSTS settings. */
export interface ProvenanceSettings {
  corsOrigins: readonly string[];
  allowedHosts: readonly string[];
}

/**
 * Whether a request may come from where it says. Any web page can make a browser send simple
 * POSTs (forms, multipart) or open WebSockets to this server without CORS consent, which would
 * matter most with authentication off on loopback; browsers always name the page's origin
 * then. Only this server's own origin (GraphiQL) and CORS_ORIGINS are accepted; clients that
 * are not browsers send no Origin.
 */
function originAllowed(req: IncomingMessage, allowedOrigins: readonly string[]): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  const host = req.headers.host;
  return allowedOrigins.includes(origin) || (host !== undefined && (origin === `http://${host}` || origin === `https://${host}`));
}

/**
 * Whether the Host header names this server. A DNS-rebinding page points its own name at this
 * machine, so its requests carry its name as both Host and Origin and pass the origin check;
 * they are told apart by that name. A page always has a name, so IP literals pass (a server
 * reached as http://10.0.0.5:4000 keeps working), as do localhost, *.localhost (which resolve
 * only to this machine) and the configured names. No Host at all (HTTP/1.0) is no browser.
 */
export function hostAllowed(host: string | undefined, allowedHosts: readonly string[]): boolean {
  if (host === undefined) return true;
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(host);
  if (bracketed) return isIPv6(bracketed[1]!);
  const match = /^([^:]+)(?::\d+)?$/.exec(host);
  if (!match) return false;
  const name = match[1]!.toLowerCase().replace(/\.$/, '');
  return isIPv4(name) || name === 'localhost' || name.endsWith('.localhost') || allowedHosts.includes(name);
}

/** Why a request or WebSocket upgrade is refused for its Host or Origin (FORBIDDEN), if it is. */
export function provenanceRefusal(req: IncomingMessage, settings: ProvenanceSettings): AppError | undefined {
  if (!hostAllowed(req.headers.host, settings.allowedHosts)) {
    return new AppError('FORBIDDEN', `Requests for host ${req.headers.host} are not allowed (ALLOWED_HOSTS)`);
  }
  if (!originAllowed(req, settings.corsOrigins)) {
    return new AppError('FORBIDDEN', `Requests from ${req.headers.origin} are not allowed (CORS_ORIGINS)`);
  }
  return undefined;
}
