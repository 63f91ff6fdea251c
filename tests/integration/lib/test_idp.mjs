// test_idp.mjs — a small OpenID Connect identity provider for negative login tests: a real HTTP
// peer of graphql-api (discovery, JWKS, authorize, token) that can be told to issue bad ID
// tokens — wrong or missing nonce, expired, wrong audience or issuer, alg "none", HS256 keyed
// with its own public key, signed by a key that is not in its JWKS (under a published kid, under
// a kid it never published, or by the key it rotated out) — so the tests show each one refused.
// It counts the JWKS requests it answers (jwksRequests), to check the client's refetch limit. It checks what a real provider checks of the client (PKCE S256, client secret,
// redirect_uri, single-use codes). Node built-ins only.
import { createServer } from 'node:http';
import { createHash, createHmac, generateKeyPairSync, randomBytes, sign as rsaSign } from 'node:crypto';

const b64u = (buf) => Buffer.from(buf).toString('base64url');

function newKey() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { privateKey, publicKey, kid: `k-${randomBytes(4).toString('hex')}` };
}

export async function startTestIdp({ clientId = 'test-client', clientSecret = 'test-secret' } = {}) {
  const idp = {
    clientId, clientSecret,
    key: newKey(),
    rogue: newKey(), // never published
    mode: 'ok',       // what the next ID token looks like
    subject: 'idp-user-1',
    name: 'Test User',
    codes: new Map(),
    tokenRequests: 0,
    jwksRequests: 0,
    retired: null, // the key rotate() replaced: no longer in the JWKS
  };
  const jwk = (k) => ({ ...k.publicKey.export({ format: 'jwk' }), kid: k.kid, use: 'sig', alg: 'RS256' });

  function idToken(rec) {
    const now = Math.floor(Date.now() / 1000);
    const m = idp.mode;
    const claims = {
      iss: m === 'wrong_iss' ? 'https://evil.example' : idp.issuer,
      aud: m === 'wrong_aud' ? 'someone-else' : idp.clientId,
      sub: idp.subject, name: idp.name,
      iat: now - 1,
      exp: m === 'expired' ? now - 3600 : now + 300,
    };
    if (m === 'wrong_nonce') claims.nonce = 'not-the-nonce';
    else if (m !== 'no_nonce') claims.nonce = rec.nonce;
    let header = { alg: 'RS256', typ: 'JWT', kid: idp.key.kid };
    if (m === 'unknown_kid') header = { alg: 'RS256', typ: 'JWT', kid: idp.rogue.kid };
    if (m === 'retired_key') header = { alg: 'RS256', typ: 'JWT', kid: idp.retired.kid };
    if (m === 'alg_none') header = { alg: 'none', typ: 'JWT', kid: idp.key.kid };
    if (m === 'hs256_pubkey') header = { alg: 'HS256', typ: 'JWT', kid: idp.key.kid };
    const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(claims))}`;
    if (m === 'alg_none') return `${input}.`;
    if (m === 'hs256_pubkey') {
      // the "key confusion" attack: HMAC with the published public key as the secret
      const pem = idp.key.publicKey.export({ type: 'spki', format: 'pem' });
      return `${input}.${b64u(createHmac('sha256', pem).update(input).digest())}`;
    }
    const key = m === 'other_key' || m === 'unknown_kid' ? idp.rogue.privateKey
      : m === 'retired_key' ? idp.retired.privateKey : idp.key.privateKey;
    return `${input}.${b64u(rsaSign('sha256', Buffer.from(input), key))}`;
  }

  const json = (res, status, body) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  };

  const server = createServer(async (req, res) => {
    const url = new URL(req.url, idp.issuer);
    if (url.pathname === '/.well-known/openid-configuration') {
      return json(res, 200, {
        issuer: idp.issuer,
        authorization_endpoint: `${idp.issuer}/authorize`,
        token_endpoint: `${idp.issuer}/token`,
        jwks_uri: `${idp.issuer}/jwks`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
        code_challenge_methods_supported: ['S256'],
      });
    }
    if (url.pathname === '/jwks') {
      idp.jwksRequests++;
      return json(res, 200, { keys: [jwk(idp.key)] });
    }
    if (url.pathname === '/authorize') {
      // signs the user in at once (no form: the form is tested against tools/oidc-dev)
      const p = url.searchParams;
      if (p.get('client_id') !== idp.clientId || p.get('response_type') !== 'code' ||
          p.get('code_challenge_method') !== 'S256' || !p.get('code_challenge')) {
        return json(res, 400, { error: 'invalid_request' });
      }
      const code = randomBytes(16).toString('hex');
      idp.codes.set(code, { nonce: p.get('nonce'), challenge: p.get('code_challenge'), redirect: p.get('redirect_uri') });
      const back = new URL(p.get('redirect_uri'));
      back.searchParams.set('code', code);
      back.searchParams.set('state', p.get('state'));
      res.writeHead(302, { location: back.toString() });
      return res.end();
    }
    if (url.pathname === '/token' && req.method === 'POST') {
      idp.tokenRequests++;
      let body = '';
      for await (const c of req) body += c;
      const f = new URLSearchParams(body);
      const auth = (req.headers.authorization || '').replace(/^Basic /, '');
      const [id, secret] = Buffer.from(auth, 'base64').toString().split(':').map(decodeURIComponent);
      if (id !== idp.clientId || secret !== idp.clientSecret) return json(res, 401, { error: 'invalid_client' });
      const rec = idp.codes.get(f.get('code'));
      idp.codes.delete(f.get('code')); // single use, as RFC 6749 §4.1.2 requires
      if (!rec || f.get('grant_type') !== 'authorization_code' || f.get('redirect_uri') !== rec.redirect) {
        return json(res, 400, { error: 'invalid_grant' });
      }
      const challenge = b64u(createHash('sha256').update(f.get('code_verifier') || '').digest());
      if (challenge !== rec.challenge) return json(res, 400, { error: 'invalid_grant', error_description: 'PKCE' });
      return json(res, 200, { access_token: randomBytes(16).toString('hex'), token_type: 'Bearer', expires_in: 300, id_token: idToken(rec) });
    }
    json(res, 404, { error: 'not_found' });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  idp.issuer = `http://127.0.0.1:${server.address().port}`;
  idp.rotate = () => { idp.retired = idp.key; idp.key = newKey(); };
  idp.close = () => new Promise((r) => { server.close(r); server.closeAllConnections(); });
  return idp;
}
