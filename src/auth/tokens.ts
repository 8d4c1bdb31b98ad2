import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { ContainerScope, scopeSchema } from './scope.js';

export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Who is asking: the token's id (never the token), its role and its container scope, if any. */
export interface Principal {
  tokenId: string;
  role: Role;
  scope: ContainerScope | null;
  /** A student's token, minted for one lab: it works on that student's containers and creates none. */
  student?: { lab: string; id: string };
}

/** The principal of every request when authentication is off (loopback, no tokens configured). */
export const ANONYMOUS: Principal = { tokenId: 'anonymous', role: 'admin', scope: null };

export const hasRole = (principal: Principal, role: Role): boolean => ROLES.indexOf(principal.role) >= ROLES.indexOf(role);

export const sha256 = (secret: string): Buffer => createHash('sha256').update(secret, 'utf8').digest();

/** Long enough that guessing is hopeless; short tokens are refused at start-up. */
const MIN_TOKEN_LENGTH = 16;

const tokenEntry = z
  .object({
    id: z.string().min(1).max(64).regex(/^[a-zA-Z0-9_.@-]+$/, 'must use only [a-zA-Z0-9_.@-]'),
    role: z.enum(ROLES),
    /** The secret itself, hashed at once; or its SHA-256 in hex, so the file holds no secret. */
    token: z.string().min(MIN_TOKEN_LENGTH, `must be at least ${MIN_TOKEN_LENGTH} characters`).max(1024).optional(),
    sha256: z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hex digits').optional(),
    scope: scopeSchema.optional(),
  })
  .strict()
  .refine((t) => (t.token === undefined) !== (t.sha256 === undefined), 'give exactly one of token and sha256');

export const tokenList = z.array(tokenEntry).max(10_000);

/** A configured token as kept in memory: only its hash. */
export interface TokenRecord {
  principal: Principal;
  hash: Buffer;
}

export function toTokenRecords(entries: z.output<typeof tokenList>): TokenRecord[] {
  return entries.map((entry) => ({
    hash: entry.token !== undefined ? sha256(entry.token) : Buffer.from(entry.sha256!, 'hex'),
    principal: { tokenId: entry.id, role: entry.role, scope: entry.scope ? new ContainerScope(entry.scope) : null },
  }));
}

/** Finds the principal of a presented secret by its SHA-256, comparing against every hash in constant time. */
export function findPrincipal(records: readonly TokenRecord[], hash: Buffer): Principal | undefined {
  let found: Principal | undefined;
  // No early exit, so the time taken does not tell which entry (if any) matched.
  for (const record of records) {
    if (timingSafeEqual(record.hash, hash)) found ??= record.principal;
  }
  return found;
}
