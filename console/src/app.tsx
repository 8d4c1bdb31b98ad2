import { useEffect, useState } from 'preact/hooks';
import { ApiError } from './api';
import { ContainerPage } from './pages/container';
import { ContainersPage } from './pages/containers';
import { LabPage, LabsPage } from './pages/labs';
import { containerOfRoute, containersHref, labOfRoute, labsHref } from './routes';
import { SessionContext, signIn, storedToken, type Session } from './session';

/** The route in the URL's fragment (routes.ts). */
function useRoute(): string {
  const [route, setRoute] = useState(location.hash.slice(1) || '/');
  useEffect(() => {
    const onChange = () => setRoute(location.hash.slice(1) || '/');
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

export function App() {
  const [session, setSession] = useState<Session | undefined>();
  const [asking, setAsking] = useState(false);
  const [problem, setProblem] = useState<string | undefined>();
  const route = useRoute();

  const attempt = (token: string | undefined) =>
    signIn(token, () => {
      location.hash = containersHref;
      setSession(undefined);
      setAsking(true);
    }).then(
      (signedIn) => {
        setProblem(undefined);
        setSession(signedIn);
      },
      (error: Error) => {
        setAsking(true);
        // No token at all is no mistake: the server just wants one.
        if (!(token === undefined && error instanceof ApiError && error.code === 'UNAUTHENTICATED')) setProblem(error.message);
      },
    );

  useEffect(() => void attempt(storedToken()), []);

  if (!session) return asking ? <SignIn problem={problem} onToken={(token) => void attempt(token)} /> : <p class="status">Connecting…</p>;

  const containerName = containerOfRoute(route);
  const lab = labOfRoute(route);
  const page = containerName ? <ContainerPage name={containerName} /> : lab ? <LabPage name={lab} /> : lab === null ? <LabsPage /> : <ContainersPage />;
  return (
    <SessionContext.Provider value={session}>
      <header>
        <a class="brand" href={containersHref}>
          podgraph
        </a>
        {/* Labs are for staff: a scoped token (a student's) sees its containers only. */}
        {!session.scoped && <a href={labsHref}>Labs</a>}
        <span class="engine">{session.engine}</span>
        <span class="who" data-testid="access">
          {session.open ? 'authentication off' : `${session.tokenId} · ${session.role}${session.scoped ? ' · scoped' : ''}`}
        </span>
        {!session.open && <button onClick={session.signOut}>Sign out</button>}
      </header>
      <main>{page}</main>
    </SessionContext.Provider>
  );
}

function SignIn({ problem, onToken }: { problem?: string; onToken(token: string): void }) {
  const [token, setToken] = useState('');
  return (
    <form
      class="sign-in"
      onSubmit={(event) => {
        event.preventDefault();
        if (token.trim()) onToken(token.trim());
      }}
    >
      <h1>podgraph</h1>
      <p>This server needs a token. It is kept for this browser tab only.</p>
      <input type="password" aria-label="Token" placeholder="Token" autoFocus value={token} onInput={(event) => setToken(event.currentTarget.value)} />
      <button type="submit">Sign in</button>
      {problem && <p class="error">{problem}</p>}
    </form>
  );
}
