import { randomBytes } from 'node:crypto';
import type { IssuedTokens } from '../../auth/authenticator.js';
import { ContainerScope } from '../../auth/scope.js';
import { sha256, type Principal } from '../../auth/tokens.js';
import type { TokenEntry } from '../../store/labs.js';
import { labelSelectorsOf } from './template.js';

/** A minted token: the secret, shown once, and what is kept of it. */
export interface MintedToken {
  secret: string;
  entry: TokenEntry;
}

/** Marks the secrets podgraph mints, so one found in a log or a paste is recognised. */
const PREFIX = 'pgs_';

/**
 * Students' tokens, as the authenticator looks them up: kept in memory (by hash only), loaded
 * from the store at start and changed with it. A token works while its lab runs: an expired
 * lab's tokens are refused with a reason, a removed lab's are unknown.
 */
export class StudentTokens implements IssuedTokens {
  private readonly byHash = new Map<string, { entry: TokenEntry; principal: Principal }>();
  private readonly expiries = new Map<string, Date>();

  constructor(private readonly now: () => Date = () => new Date()) {}

  mint(lab: string, student: string): MintedToken {
    const secret = PREFIX + randomBytes(32).toString('base64url');
    const id = `${lab}.${student}.${randomBytes(3).toString('hex')}`;
    return { secret, entry: { id, lab, student, sha256: sha256(secret).toString('hex'), createdAt: this.now(), revokedAt: null } };
  }

  add(entry: TokenEntry): void {
    const scope = new ContainerScope({ labels: labelSelectorsOf({ lab: entry.lab, id: entry.student }) });
    this.byHash.set(entry.sha256, { entry, principal: { tokenId: entry.id, role: 'operator', scope, student: { lab: entry.lab, id: entry.student } } });
  }

  /** The lab's end, after which its tokens are refused. */
  setExpiry(lab: string, expiresAt: Date): void {
    this.expiries.set(lab, expiresAt);
  }

  revoke(id: string, at: Date): void {
    for (const token of this.byHash.values()) if (token.entry.id === id) token.entry.revokedAt = at;
  }

  /** Forgets a lab's tokens (or one student's). */
  forget(lab: string, student?: string): void {
    for (const [hash, { entry }] of this.byHash) if (entry.lab === lab && (student === undefined || entry.student === student)) this.byHash.delete(hash);
    if (student === undefined) this.expiries.delete(lab);
  }

  find(sha256Hex: string): Principal | { refused: string } | undefined {
    const token = this.byHash.get(sha256Hex);
    if (!token) return undefined;
    if (token.entry.revokedAt) return { refused: 'The token has been revoked' };
    const expiresAt = this.expiries.get(token.entry.lab);
    if (!expiresAt || expiresAt <= this.now()) return { refused: `The token has expired with its lab ${token.entry.lab}` };
    return token.principal;
  }
}
