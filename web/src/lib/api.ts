// api.ts — how the dashboard talks to graphql-api: the session cookie (OIDC login, same origin)
// or, for local development, an API key kept in this tab's sessionStorage; an Apollo Client for
// queries and mutations; a graphql-ws client for subscriptions; and a one-time look at the schema
// so pages can say "this server has no alerts yet" instead of failing on an unknown field.
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from '@apollo/client';
import { createClient, type Client } from 'graphql-ws';

const KEY_STORAGE = 'ea.apiKey';

export function storedApiKey(): string | null {
  try {
    return sessionStorage.getItem(KEY_STORAGE);
  } catch {
    return null;
  }
}

export function storeApiKey(key: string | null) {
  try {
    if (key) sessionStorage.setItem(KEY_STORAGE, key);
    else sessionStorage.removeItem(KEY_STORAGE);
  } catch {
    /* storage disabled: the key lives only in memory for this page */
  }
}

export function authHeaders(key: string | null): Record<string, string> {
  return key ? { authorization: `Bearer ${key}` } : {};
}

export interface Me {
  kind: string;
  name?: string | null;
  tenants: { id: string; name: string; role?: string | null }[];
  scopes?: string[];
}

/** May the caller change things in tenant (admin role, or a key with the admin scope)? The
 *  server checks every mutation anyway: this only decides what the UI offers. */
export function canAdmin(me: Me, tenant: string): boolean {
  if (me.kind === 'api_key') return (me.scopes ?? []).includes('admin');
  return me.tenants.find((t) => t.id === tenant)?.role === 'admin';
}

export type MeResult =
  | { state: 'signed-in'; me: Me }
  | { state: 'signed-out'; message: string }
  | { state: 'error'; message: string };

/** Plain POST /graphql (no Apollo): used before the client exists, and by the schema probe. */
export async function rawGraphql<T>(key: string | null, query: string, variables?: object) {
  const res = await fetch('/graphql', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...authHeaders(key) },
    body: JSON.stringify({ query, variables }),
  });
  let body: { data?: T; errors?: { message: string; extensions?: { code?: string } }[] } = {};
  try {
    body = await res.json();
  } catch {
    /* not JSON: reported by status below */
  }
  return { status: res.status, body };
}

/** Who is calling: 401 means nobody (show the login page). Asks for `name` only when the
 *  server's Me type has it. */
export async function fetchMe(key: string | null, withName: boolean): Promise<MeResult> {
  try {
    const q = `{ me { kind scopes ${withName ? 'name' : ''} tenants { id name ${withName ? 'role' : ''} } } }`;
    const { status, body } = await rawGraphql<{ me: Me | null }>(key, q);
    if (status === 401) return { state: 'signed-out', message: body.errors?.[0]?.message ?? 'sign in required' };
    if (body.errors?.length) return { state: 'error', message: body.errors[0].message };
    if (status !== 200 || !body.data) return { state: 'error', message: `graphql-api answered HTTP ${status}` };
    if (!body.data.me) return { state: 'signed-out', message: 'sign in required' };
    return { state: 'signed-in', me: body.data.me };
  } catch (e) {
    return { state: 'error', message: `could not reach graphql-api: ${(e as Error).message}` };
  }
}

/** The fields the running server has, per root/object type (introspection). When introspection
 *  is off the probe returns null and every feature is assumed present. */
export type Capabilities = Record<string, Set<string>> | null;

export async function fetchCapabilities(key: string | null): Promise<Capabilities> {
  const q = `{ ${['Query', 'Mutation', 'Subscription', 'Me', 'Alert', 'Dashboard', 'ApiKey', 'AlertFiring', 'MetricDefinition']
    .map((t) => `${t.toLowerCase()}: __type(name: "${t}") { fields { name } }`)
    .join(' ')} }`;
  try {
    const { body } = await rawGraphql<Record<string, { fields: { name: string }[] } | null>>(key, q);
    if (!body.data) return null;
    const caps: Record<string, Set<string>> = {};
    for (const [k, v] of Object.entries(body.data)) caps[k] = new Set((v?.fields ?? []).map((f) => f.name));
    return caps;
  } catch {
    return null;
  }
}

export function has(caps: Capabilities, type: string, field: string): boolean {
  return caps === null || (caps[type.toLowerCase()]?.has(field) ?? false);
}

export function makeApolloClient(key: string | null) {
  const headers = (): Record<string, string> => ({ accept: 'application/json', ...authHeaders(key) });
  const http = new HttpLink({ uri: '/graphql', credentials: 'same-origin', headers: headers() });
  return new ApolloClient({
    link: ApolloLink.from([http]),
    cache: new InMemoryCache({
      typePolicies: { MetricPoint: { keyFields: false }, Tenant: { keyFields: ['id'] } },
    }),
    defaultOptions: { watchQuery: { fetchPolicy: 'cache-and-network' } },
  });
}

export function makeWsClient(key: string | null): Client {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return createClient({
    url: `${proto}//${location.host}/graphql`,
    // the session cookie travels with the upgrade request by itself (same origin)
    connectionParams: () => (key ? { authorization: `Bearer ${key}` } : {}),
    lazy: true,
    retryAttempts: 3,
    shouldRetry: () => true,
  });
}
