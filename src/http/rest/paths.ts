/** The original service's base path; everything under it is REST, the rest is GraphQL's. */
export const REST_BASE = '/api/v1';

export const isRestPath = (url: string | undefined): boolean =>
  url !== undefined && (url === REST_BASE || url.startsWith(`${REST_BASE}/`) || url.startsWith(`${REST_BASE}?`));
