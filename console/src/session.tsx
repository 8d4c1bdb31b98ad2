import { HealthDocument, WhoamiDocument } from 'podgraph/client';
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import { connect, run, type Api } from './api';

/** The browser session keeps the token until the tab closes. */
const TOKEN_KEY = 'podgraph.token';

export interface Session {
  api: Api;
  /** The token's id ("anonymous" with authentication off). */
  tokenId: string;
  /** viewer, operator or admin. */
  role: string;
  /** Whether the token sees only some containers. */
  scoped: boolean;
  /** A student's token: the account its commands run as; it may not use the files, which act as root. */
  account: string | null;
  /** Whether the token may change things (operator or admin); a viewer is offered no actions. */
  canAct: boolean;
  /** The server runs with authentication off: no token, every request acts as an admin. */
  open: boolean;
  engine: string;
  signOut(): void;
}

export const SessionContext = createContext<Session | undefined>(undefined);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a signed-in page');
  return session;
}

export const storedToken = () => sessionStorage.getItem(TOKEN_KEY) ?? undefined;

/**
 * Checks the token (none: whether authentication is off) and finds what it may do. Throws
 * ApiError UNAUTHENTICATED when a token is needed or is not valid.
 */
export async function signIn(token: string | undefined, onSignOut: () => void): Promise<Session> {
  const api = connect(token);
  try {
    const [{ health }, { whoami }] = await Promise.all([run(api.client, HealthDocument, {}), run(api.client, WhoamiDocument, {})]);
    const engine = health.engine;
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    return {
      api,
      tokenId: whoami.tokenId,
      role: whoami.role,
      scoped: whoami.scoped,
      account: whoami.account ?? null,
      canAct: whoami.role !== 'viewer',
      open: !token,
      engine: engine ? `${engine.name} ${engine.version}` : 'engine unavailable',
      signOut: () => {
        sessionStorage.removeItem(TOKEN_KEY);
        api.dispose();
        onSignOut();
      },
    };
  } catch (error) {
    api.dispose();
    throw error;
  }
}
