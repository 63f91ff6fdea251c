// server.mjs — the local OpenID Connect provider that `make dev` and the tests sign in with
// when no real issuer (Google) is configured: npm `oidc-provider` (a certified OP
// implementation) with one user, `demo` / password `demo` (SPEC §10), and one confidential
// client for graphql-api's /auth/callback. It exists so the login flow is exercised for real
// (discovery, authorize, PKCE, token endpoint, RS256 ID tokens, JWKS) on a laptop; it is not
// a user directory and keeps everything in memory.
//
// Environment:
//   OIDC_DEV_PORT           port on 127.0.0.1 (default 3004); the issuer is http://127.0.0.1:PORT
//   OIDC_DEV_CLIENT_ID      client id (default analytics-dashboard)
//   OIDC_DEV_CLIENT_SECRET  client secret (required: scripts/stack.sh generates one per stack)
//   OIDC_DEV_REDIRECT_URIS  comma-separated callback URLs (default http://127.0.0.1:3002/auth/callback)
import { createServer } from 'node:http';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.env.OIDC_DEV_PORT || 3004);
const issuer = `http://127.0.0.1:${port}`;
const clientId = process.env.OIDC_DEV_CLIENT_ID || 'analytics-dashboard';
const clientSecret = process.env.OIDC_DEV_CLIENT_SECRET;
const redirectUris = (process.env.OIDC_DEV_REDIRECT_URIS || 'http://127.0.0.1:3002/auth/callback')
  .split(',').map((s) => s.trim()).filter(Boolean);
if (!clientSecret || clientSecret.length < 16) {
  console.error('oidc-dev: OIDC_DEV_CLIENT_SECRET (16+ chars) is required');
  process.exit(2);
}

// The only account. The subject is "demo": memberships are keyed by (issuer, subject).
const USERS = { demo: { password: 'demo', claims: { sub: 'demo', name: 'Demo User', preferred_username: 'demo', email: 'demo@example.com', email_verified: true } } };

// A fresh signing key per start: graphql-api fetches the JWKS again when it meets a new kid.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: `dev-${randomBytes(4).toString('hex')}`, use: 'sig', alg: 'RS256' };

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: redirectUris,
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: [jwk] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  pkce: { required: () => true },
  claims: { openid: ['sub'], profile: ['name', 'preferred_username'], email: ['email', 'email_verified'] },
  // put the profile claims in the ID token itself: graphql-api reads only the ID token
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  findAccount: async (ctx, id) => (USERS[id] ? { accountId: id, claims: async () => USERS[id].claims } : undefined),
  // first-party client: consent is implied, so grant the requested scopes without a screen
  loadExistingGrant: async (ctx) => {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid profile email');
    await grant.save();
    return grant;
  },
});

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (uid, error) => `<!doctype html><html><head><meta charset="utf-8"><title>Sign in — local OIDC provider</title></head>
<body style="font-family:sans-serif;max-width:22rem;margin:4rem auto">
<h1>Sign in</h1><p>Local development provider. User <b>demo</b>, password <b>demo</b>.</p>
${error ? `<p role="alert" style="color:#b00">${esc(error)}</p>` : ''}
<form method="post" action="/interaction/${esc(uid)}/login">
<label>User <input name="login" autocomplete="username" autofocus></label><br><br>
<label>Password <input name="password" type="password" autocomplete="current-password"></label><br><br>
<button type="submit">Sign in</button></form></body></html>`;

async function readForm(req) {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 4096) throw new Error('form too large');
  }
  return new URLSearchParams(body);
}

const handler = provider.callback();
const server = createServer(async (req, res) => {
  const m = /^\/interaction\/([A-Za-z0-9_-]+)(\/login)?$/.exec(req.url.split('?')[0]);
  if (!m) return handler(req, res);
  try {
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== m[1]) throw new Error('interaction mismatch');
    if (req.method === 'GET' && !m[2]) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      return res.end(page(details.uid));
    }
    if (req.method === 'POST' && m[2]) {
      const form = await readForm(req);
      const user = USERS[form.get('login')];
      if (!user || form.get('password') !== user.password) {
        res.writeHead(401, { 'content-type': 'text/html; charset=utf-8' });
        return res.end(page(details.uid, 'Wrong user or password.'));
      }
      return provider.interactionFinished(req, res, { login: { accountId: form.get('login') } }, { mergeWithLastSubmission: false });
    }
    res.writeHead(405).end();
  } catch (e) {
    res.writeHead(400, { 'content-type': 'text/plain' });
    res.end(`login error: ${e.message}`);
  }
});

server.listen(port, '127.0.0.1', () => {
  console.log(JSON.stringify({ ts: new Date().toISOString(), level: 'info', svc: 'oidc-dev', subject: 'startup', msg: `issuer ${issuer}, client ${clientId}, redirect ${redirectUris.join(' ')}` }));
});
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
