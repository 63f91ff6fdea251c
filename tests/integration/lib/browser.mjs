// browser.mjs — a minimal browser for login tests: fetch with a cookie jar and manual
// redirects, so a test sees every hop (graphql-api → identity provider → graphql-api) and every
// Set-Cookie. Cookies are kept per host, not per port, as browsers do (RFC 6265 §8.5), with
// Path and Max-Age honoured. Also: the login-form driver for the local provider (tools/oidc-dev).

export class Browser {
  constructor() {
    this.cookies = new Map(); // host -> Map(name -> {value, path, expires})
  }

  // Stores the Set-Cookie headers of a response to url.
  store(url, res) {
    const host = new URL(url).hostname;
    if (!this.cookies.has(host)) this.cookies.set(host, new Map());
    const jar = this.cookies.get(host);
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq), value = pair.slice(eq + 1);
      let path = '/', expires = Infinity;
      for (const a of attrs) {
        const [k, v] = a.split('=');
        if (k.toLowerCase() === 'path') path = v;
        if (k.toLowerCase() === 'max-age') expires = Date.now() + Number(v) * 1000;
      }
      const key = `${name}\u0000${path}`;
      if (expires <= Date.now()) jar.delete(key);
      else jar.set(key, { name, value, path, expires });
    }
  }

  // The Cookie header a browser would send to url.
  cookieHeader(url) {
    const u = new URL(url);
    const jar = this.cookies.get(u.hostname) || new Map();
    return [...jar.values()]
      .filter((c) => c.expires > Date.now() && u.pathname.startsWith(c.path))
      .map((c) => `${c.name}=${c.value}`).join('; ');
  }

  get(name, host = '127.0.0.1') {
    for (const c of (this.cookies.get(host) || new Map()).values()) if (c.name === name) return c.value;
    return undefined;
  }

  set(name, value, path = '/', host = '127.0.0.1') {
    if (!this.cookies.has(host)) this.cookies.set(host, new Map());
    this.cookies.get(host).set(`${name}\u0000${path}`, { name, value, path, expires: Infinity });
  }

  // One request, no redirect following. Returns the Response (body unread).
  async fetch(url, init = {}) {
    const headers = { ...(init.headers || {}) };
    const ck = this.cookieHeader(url);
    if (ck) headers.cookie = ck;
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    this.store(url, res);
    return res;
  }

  // Follows redirects until a non-3xx answer or until stop(url) is true for the next location.
  // Returns { res, url, hops }.
  async follow(url, stop = () => false, init = {}) {
    const hops = [];
    let res = await this.fetch(url, init);
    while (res.status >= 300 && res.status < 400 && res.headers.get('location')) {
      const next = new URL(res.headers.get('location'), url).toString();
      hops.push({ status: res.status, from: url, to: next });
      await res.arrayBuffer();
      if (stop(next)) return { res, url: next, hops, stopped: true };
      url = next;
      res = await this.fetch(url);
    }
    return { res, url, hops, stopped: false };
  }
}

// The Set-Cookie lines of a response whose name is `name`.
export function setCookies(res, name) {
  return res.headers.getSetCookie().filter((l) => l.startsWith(`${name}=`));
}

// True when the response sets a non-empty session cookie.
export function setsSession(res) {
  return setCookies(res, 'ea_session').some((l) => !/^ea_session=;/.test(l) && !/Max-Age=0/i.test(l));
}

// Signs in through the local provider's HTML form (tools/oidc-dev). Stops before graphql-api's
// callback and returns its URL, so callers can inspect (or replay) it.
export async function providerLogin(browser, graphqlBase, { user = 'demo', password = 'demo', returnTo = '/' } = {}) {
  const isCallback = (u) => u.startsWith(`${graphqlBase}/auth/callback`);
  const start = await browser.follow(`${graphqlBase}/auth/login?return_to=${encodeURIComponent(returnTo)}`, isCallback);
  if (start.stopped) return { callbackUrl: start.url };
  const html = await start.res.text();
  const action = /<form[^>]*action="([^"]+)"/.exec(html);
  if (start.res.status !== 200 || !action) throw new Error(`no login form at ${start.url}: ${start.res.status} ${html.slice(0, 200)}`);
  const formUrl = new URL(action[1].replace(/&amp;/g, '&'), start.url).toString();
  const posted = await browser.follow(formUrl, isCallback, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ login: user, password }).toString(),
  });
  if (!posted.stopped) return { callbackUrl: null, res: posted.res, body: await posted.res.text() };
  return { callbackUrl: posted.url };
}
