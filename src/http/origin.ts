import type { IncomingMessage } from 'node:http';

/**
 * Whether a request may come from where it says. Any web page can make a browser send simple
 * POSTs (forms, multipart) or open WebSockets to this server without CORS consent, which would
 * matter most with authentication off on loopback; browsers always name the page's origin
 * then. Only this server's own origin (GraphiQL) and CORS_ORIGINS are accepted; clients that
 * are not browsers send no Origin.
 */
export function originAllowed(req: IncomingMessage, allowedOrigins: readonly string[]): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  const host = req.headers.host;
  return allowedOrigins.includes(origin) || (host !== undefined && (origin === `http://${host}` || origin === `https://${host}`));
}
