/** Pages live in the URL's fragment, so the server serves one page for all of them. */
export const containersHref = '#/';
export const containerHref = (name: string) => `#/containers/${encodeURIComponent(name)}`;
/** The container a route names, if it is a container's page. */
export const containerOfRoute = (route: string) => {
  const match = /^\/containers\/(.+)$/.exec(route);
  return match ? decodeURIComponent(match[1]!) : undefined;
};
export const labsHref = '#/labs';
export const labHref = (name: string) => `#/labs/${encodeURIComponent(name)}`;
/** Which labs page a route names: the list (null), one lab (its name), or neither (undefined). */
export const labOfRoute = (route: string): string | null | undefined => {
  if (route === '/labs') return null;
  const match = /^\/labs\/(.+)$/.exec(route);
  return match ? decodeURIComponent(match[1]!) : undefined;
};
