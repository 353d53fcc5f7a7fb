// A certified OpenID Provider (panva's oidc-provider) for confidant's tests.
// The Go side (package certop) starts it with its configuration as JSON in
// the CERTOP_CONFIG environment variable; it listens on a free loopback port
// and prints "listening <issuer>" on stdout once it serves.
//
// Besides the provider's own routes it answers GET /_test/counts with the
// number of requests per path, so tests can count token requests, and of
// logins (credentials entered) under "_logins".
import crypto from 'node:crypto';
import http from 'node:http';
import https from 'node:https';

import Provider, { errors } from 'oidc-provider';

const cfg = JSON.parse(process.env.CERTOP_CONFIG || '{}');
const accounts = cfg.accounts || {};
const counts = {};
const exchangeRefreshTokens = [];
const issued = new Set();

// With cfg.tls: https (the test's CA), and mutual TLS (RFC 8705) on a
// second port that asks for client certificates, named in discovery's
// mtls_endpoint_aliases; the first port asks for none.
const tls = cfg.tls;
const server = tls ? https.createServer({ key: tls.key, cert: tls.cert }) : http.createServer();
const mtlsServer = tls
  ? https.createServer({ key: tls.key, cert: tls.cert, ca: tls.clientCA, requestCert: true, rejectUnauthorized: false })
  : null;
const listen = (srv) => new Promise((resolve) => { srv.listen(0, '127.0.0.1', () => resolve(srv.address().port)); });
const peerCertificate = (ctx) => (typeof ctx.socket.getPeerX509Certificate === 'function' ? ctx.socket.getPeerX509Certificate() : undefined);
Promise.all([listen(server), mtlsServer ? listen(mtlsServer) : 0]).then(([port, mtlsPort]) => {
  const issuer = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const mtlsBase = `https://127.0.0.1:${mtlsPort}`;
  const mTLS = tls ? {
    enabled: true,
    certificateBoundAccessTokens: true,
    tlsClientAuth: true,
    selfSignedTlsClientAuth: true,
    getCertificate: peerCertificate,
    // Issued by the test's client CA (the TLS layer verified it).
    certificateAuthorized: (ctx) => ctx.socket.authorized === true,
    certificateSubjectMatches(ctx, property, expected) {
      const cert = peerCertificate(ctx);
      if (property === 'tls_client_auth_subject_dn') return cert.subject.split('\n').reverse().join(',') === expected;
      if (property === 'tls_client_auth_san_dns') return (cert.subjectAltName || '').split(', ').includes(`DNS:${expected}`);
      return false;
    },
  } : { enabled: false };
  const provider = new Provider(issuer, {
    clients: cfg.clients || [],
    // Our own interactions (below): a login form that takes any login (the
    // account ID) with any password and an acr the test picks, and a
    // consent form.
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    acrValues: ['urn:confidant:pwd', 'urn:confidant:mfa'],
    features: {
      devInteractions: { enabled: false },
      // Resource indicators (RFC 8707) for the resource servers the test
      // names: JWT access tokens whose aud is the resource.
      resourceIndicators: {
        enabled: !!cfg.resourceServers,
        defaultResource: () => undefined,
        useGrantedResource: () => false,
        getResourceServerInfo: (ctx, indicator) => {
          const rs = (cfg.resourceServers || {})[indicator];
          if (!rs) throw new errors.InvalidTarget();
          return { scope: rs.scope || '', audience: indicator, accessTokenFormat: 'jwt', accessTokenTTL: cfg.accessTokenTTL || 3600 };
        },
      },
      revocation: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      backchannelLogout: { enabled: true },
      // DPoP (RFC 9449); with dpopNonce the provider asks for its nonce.
      dPoP: cfg.dpopNonce
        ? { enabled: true, nonceSecret: crypto.randomBytes(32), requireNonce: () => true }
        : { enabled: true },
      mTLS,
      ...(cfg.features || {}),
    },
    ...(tls ? {
      clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'tls_client_auth', 'self_signed_tls_client_auth', 'none'],
      discovery: {
        mtls_endpoint_aliases: {
          token_endpoint: `${mtlsBase}/token`,
          pushed_authorization_request_endpoint: `${mtlsBase}/request`,
          userinfo_endpoint: `${mtlsBase}/me`,
          revocation_endpoint: `${mtlsBase}/token/revocation`,
        },
      },
    } : {}),
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username'],
      email: ['email', 'email_verified'],
    },
    scopes: ['openid', 'offline_access', 'profile', 'email'],
    ttl: {
      AccessToken: cfg.accessTokenTTL || 3600,
      IdToken: cfg.idTokenTTL || 3600,
      RefreshToken: 24 * 3600,
      Grant: 24 * 3600,
      Session: 24 * 3600,
      Interaction: 600,
    },
    // Rotate refresh tokens on every use: the strictest a provider can be
    // (unless the test keeps them, as FAPI 2.0 servers are told to).
    rotateRefreshToken: () => !cfg.keepRefreshTokens,
    async findAccount(ctx, id) {
      const claims = accounts[id] || { name: id, email: `${id}@example.com`, email_verified: true };
      return {
        accountId: id,
        async claims() {
          return { sub: id, preferred_username: id, ...claims };
        },
      };
    },
    // The cookies' signing key (Secure only when served over https).
    cookies: { keys: ['confidant-test-cookie-key'] },
    // The algorithms it signs and accepts, widened by the test (FAPI 2.0
    // wants PS256, ES256 or EdDSA).
    ...(cfg.enabledJWA ? { enabledJWA: cfg.enabledJWA } : {}),
    // With cfg.strictAssertionAudience, a client assertion is for the
    // issuer or for the endpoint it is sent to, nothing else (the default
    // also takes the token endpoint's URL everywhere); FAPI 2.0 wants the
    // issuer.
    ...(cfg.strictAssertionAudience ? {
      async assertJwtClientAuthClaimsAndHeader(ctx, claims) {
        const here = ctx.oidc.urlFor(ctx.oidc.route);
        const ok = (aud) => aud === ctx.oidc.issuer || (!ctx.oidc.isFapi('2.0') && aud === here);
        if (![].concat(claims.aud).every(ok)) {
          throw new errors.InvalidClientAuth(`audience (aud) must be the issuer or ${here}`);
        }
      },
    } : {}),
    // Its own signing keys, when the test gives them (private JWKs).
    ...(cfg.jwks ? { jwks: cfg.jwks } : {}),
    pkce: { required: () => true },
    // With cfg.accessTokenAcr, JWT access tokens carry the acr of the
    // authentication they come from (RFC 9068 2.2.1), as Auth0, Okta and
    // Entra ID put it in theirs: a resource server can ask to step up.
    ...(cfg.accessTokenAcr ? {
      async extraTokenClaims(ctx) {
        const e = ctx.oidc.entities || {};
        const from = e.RefreshToken || e.AuthorizationCode;
        return from && from.acr ? { acr: from.acr } : undefined;
      },
    } : {}),
    // The apps under test listen on loopback, which the provider's SSRF
    // protection refuses to call (back-channel logout): without it here.
    fetch: (url, options) => {
      delete options.dispatcher;
      // Back-channel logout tokens go out this way: reported as issued.
      if (typeof options.body === 'string') {
        const lt = new URLSearchParams(options.body).get('logout_token');
        if (lt) issued.add(lt);
      }
      return globalThis.fetch(url, options);
    },
  });
  // Token exchange (RFC 8693), which oidc-provider leaves to its users: a
  // valid access token of this client's user (subject_token) is exchanged
  // for a JWT access token for one resource server.
  provider.registerGrantType('urn:ietf:params:oauth:grant-type:token-exchange', async (ctx) => {
    const { params, client } = ctx.oidc;
    if (params.subject_token_type !== 'urn:ietf:params:oauth:token-type:access_token') {
      throw new errors.InvalidRequest('unsupported subject_token_type');
    }
    const subject = await provider.AccessToken.find(params.subject_token);
    if (!subject || subject.isExpired || subject.clientId !== client.clientId) {
      throw new errors.InvalidGrant('subject_token is not a valid access token of this client');
    }
    const info = (cfg.resourceServers || {})[params.resource];
    if (!info) throw new errors.InvalidTarget();
    const token = new provider.ClientCredentials({ client, scope: params.scope || undefined });
    token.resourceServer = new provider.ResourceServer(params.resource, {
      scope: info.scope || '', audience: params.resource, accessTokenFormat: 'jwt', accessTokenTTL: cfg.accessTokenTTL || 3600,
    });
    token.extra = { sub: subject.accountId, act: { sub: client.clientId } };
    const value = await token.save();
    counts._exchanges = (counts._exchanges || 0) + 1;
    ctx.body = {
      access_token: value, token_type: 'Bearer', expires_in: token.expiration,
      issued_token_type: 'urn:ietf:params:oauth:token-type:access_token', scope: token.scope,
    };
    if (cfg.exchangeRefreshToken) {
      // A refresh token of a grant of its own (revoking it revokes that
      // grant, not the sign-in's), as some providers return with an
      // exchanged token.
      const rt = new provider.RefreshToken({
        client, accountId: subject.accountId, grantId: `exchange-${crypto.randomUUID()}`,
        scope: info.scope || '', gty: 'token_exchange', expiresWithSession: false,
      });
      ctx.body.refresh_token = await rt.save();
      exchangeRefreshTokens.push(ctx.body.refresh_token);
    }
  }, ['subject_token', 'subject_token_type', 'resource', 'scope', 'requested_token_type', 'audience']);
  // Refused grants: a refresh token presented after it was rotated away
  // (oidc-provider then revokes the grant) counts here.
  provider.on('grant.error', (ctx, err) => {
    if (err && err.error === 'invalid_grant') counts._invalid_grants = (counts._invalid_grants || 0) + 1;
  });
  provider.on('server_error', (ctx, err) => console.error('server_error', err));
  provider.on('backchannel.error', (ctx, err, client) => console.error('backchannel.error', client.clientId, err, err.cause));
  provider.on('backchannel.success', (ctx, client) => console.error('backchannel.success', client.clientId));
  // Every value the provider issues or is given that must never appear in
  // the app's logs (tokens, codes, request URIs, client assertions, DPoP
  // proofs) is reported at GET /_test/issued, for the tests' secret scan.
  provider.use(async (ctx, next) => {
    const proof = ctx.get('DPoP');
    if (proof) issued.add(proof);
    await next();
    const params = ctx.oidc && ctx.oidc.params;
    if (params) {
      for (const k of ['client_assertion', 'client_secret', 'code', 'refresh_token', 'subject_token']) {
        if (typeof params[k] === 'string') issued.add(params[k]);
      }
    }
    if (ctx.body && typeof ctx.body === 'object' && !Buffer.isBuffer(ctx.body)) {
      for (const k of ['access_token', 'refresh_token', 'id_token', 'request_uri', 'response']) {
        if (typeof ctx.body[k] === 'string') issued.add(ctx.body[k]);
      }
    }
    const loc = ctx.response.get('Location');
    if (loc) {
      try {
        const u = new URL(loc, issuer);
        for (const k of ['code', 'response']) {
          const v = u.searchParams.get(k);
          if (v) issued.add(v);
        }
      } catch {}
    }
  });
  // Metadata the test wants the discovery document not to advertise.
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.path === '/.well-known/openid-configuration' && ctx.body && typeof ctx.body === 'object') {
      for (const k of cfg.discoveryOmit || []) delete ctx.body[k];
    }
  });
  const handle = provider.callback();
  const serve = (req, res) => {
    const path = req.url.split('?')[0];
    if (path === '/_test/exchange-refresh-tokens') {
      // How many of the refresh tokens token exchange issued are still
      // honoured (not revoked, not expired).
      (async () => {
        let live = 0;
        for (const v of exchangeRefreshTokens) {
          const rt = await provider.RefreshToken.find(v);
          if (rt && !rt.isExpired && !rt.consumed) live += 1;
        }
        res.setHeader('Content-Type', 'application/json');
        res.end(JSON.stringify({ issued: exchangeRefreshTokens.length, live }));
      })();
      return;
    }
    if (path === '/_test/issued') {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify([...issued]));
      return;
    }
    if (path === '/_test/counts') {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify(counts));
      return;
    }
    counts[path] = (counts[path] || 0) + 1;
    if (path.startsWith('/interaction/')) {
      interaction(provider, req, res).catch((err) => {
        console.error('interaction', err);
        res.statusCode = 500;
        res.end(String(err));
      });
      return;
    }
    handle(req, res);
  };
  server.on('request', serve);
  if (mtlsServer) mtlsServer.on('request', serve);
  console.log(tls ? `listening ${issuer} ${mtlsBase}` : `listening ${issuer}`);
});

// interaction renders and takes the login and consent forms.
async function interaction(provider, req, res) {
  const details = await provider.interactionDetails(req, res);
  const { uid, prompt, params, session, grantId } = details;
  if (req.method === 'GET') {
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    const login = prompt.name === 'login'
      ? '<input type="text" name="login"/><input type="password" name="password"/><input type="text" name="acr"/>'
      : '';
    res.end(`<!doctype html><title>${prompt.name}</title><form action="/interaction/${uid}" method="post">`
      + `<input type="hidden" name="prompt" value="${prompt.name}"/>${login}<button>Continue</button></form>`);
    return;
  }
  let raw = '';
  for await (const chunk of req) raw += chunk;
  const body = Object.fromEntries(new URLSearchParams(raw));
  if (body.prompt === 'login') {
    counts._logins = (counts._logins || 0) + 1;
    // auth_age: the user authenticated that many seconds ago (auth_time).
    const ts = body.auth_age ? { ts: Math.floor(Date.now() / 1000) - Number(body.auth_age) } : {};
    await provider.interactionFinished(req, res, {
      login: { accountId: body.login, acr: body.acr || 'urn:confidant:pwd', amr: ['pwd'], ...ts },
    }, { mergeWithLastSubmission: false });
    return;
  }
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  const d = prompt.details;
  if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
  if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
  if (d.missingResourceScopes) {
    for (const [indicator, scope] of Object.entries(d.missingResourceScopes)) {
      grant.addResourceScope(indicator, scope.join(' '));
    }
  }
  await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
}
