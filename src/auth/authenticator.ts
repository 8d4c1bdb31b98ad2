import { AppError } from '../errors.js';
import { ANONYMOUS, findPrincipal, type Principal, type TokenRecord } from './tokens.js';

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

/** Turns a presented token into a principal; with no tokens configured, everyone is ANONYMOUS. */
export class Authenticator {
  constructor(private readonly records: readonly TokenRecord[]) {}

  get enabled(): boolean {
    return this.records.length > 0;
  }

  authenticate(token: string | undefined): Principal {
    if (!this.enabled) return ANONYMOUS;
    if (token === undefined) throw new AppError('UNAUTHENTICATED', 'A bearer token is required (Authorization: Bearer <token>)');
    const principal = findPrincipal(this.records, token);
    if (!principal) throw new AppError('UNAUTHENTICATED', 'The token is not valid');
    return principal;
  }
}
