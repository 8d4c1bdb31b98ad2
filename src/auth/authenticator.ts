import { AppError } from '../errors.js';
import { ANONYMOUS, findPrincipal, sha256, type Principal, type TokenRecord } from './tokens.js';

/** Tokens the server mints while it runs (students' tokens), looked up by their SHA-256 in hex. */
export interface IssuedTokens {
  /** The principal of a token, or why it no longer works. */
  find(sha256Hex: string): Principal | { refused: string } | undefined;
}

/** The token in an `Authorization: Bearer …` value. */
export function bearerToken(authorization: string | null | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  return match?.[1];
}

/** WebSocket clients cannot set headers: the token comes in connectionParams, as a header value or bare. */
export function connectionToken(params: Readonly<Record<string, unknown>> | undefined): string | undefined {
  const authorization = params?.authorization ?? params?.Authorization;
  if (typeof authorization === 'string') return bearerToken(authorization);
  return typeof params?.token === 'string' ? params.token : undefined;
}

/**
 * Turns a presented token into a principal. A token the server issued is that principal even
 * when authentication is off; otherwise, with no tokens configured, everyone is ANONYMOUS.
 */
export class Authenticator {
  constructor(
    private readonly records: readonly TokenRecord[],
    private readonly issued?: IssuedTokens,
  ) {}

  get enabled(): boolean {
    return this.records.length > 0;
  }

  authenticate(token: string | undefined): Principal {
    const hash = token === undefined ? undefined : sha256(token);
    const issued = hash && this.issued?.find(hash.toString('hex'));
    if (issued && 'refused' in issued) throw new AppError('UNAUTHENTICATED', issued.refused);
    if (issued) return issued;
    if (!this.enabled) return ANONYMOUS;
    if (hash === undefined) throw new AppError('UNAUTHENTICATED', 'A bearer token is required (Authorization: Bearer <token>)');
    const principal = findPrincipal(this.records, hash);
    if (!principal) throw new AppError('UNAUTHENTICATED', 'The token is not valid');
    return principal;
  }
}
