// rp.mjs — a relying party that runs certbound's authorization-code flow end to end, no browser.
//
// It discovers the server with openid-client v6, authenticates as a self_signed_tls_client_auth /
// tls_client_auth client (RFC 8705: the TLS client certificate, no secret), builds an authorization
// URL with PKCE S256, state and nonce, then plays the user over plain HTTP (manual redirects, a
// small cookie jar): sign-in form → consent form (approve_once, every claim) → redirect with a code.
// It redeems the code (openid-client validates the id_token) and calls the userinfo endpoint.
// Every request, the RP's and the "user's", goes through one undici Agent that presents the client
// certificate and trusts the server's dev CA.
//
// Success: one JSON line on stdout
//   { "id_token_claims", "userinfo", "token_response": { "token_type", "scope", "expires_in",
//     "has_refresh_token" }, "metadata_issuer" }, exit 0.
// Failure: the error (message, cause, OAuth error fields, status) on stderr, exit 1.
//
// Env: ISSUER (e.g. https://localhost:9443/oauth2/token), CLIENT_ID, CLIENT_CERT, CLIENT_KEY (PEM
// paths of the client's certificate and key), CA_CERT (PEM path of the server's dev CA),
// REDIRECT_URI, USERNAME, PASSWORD.

import { readFileSync } from 'node:fs';
import * as client from 'openid-client';
import { Agent, fetch } from 'undici';

function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is required`);
  return value;
}

const ISSUER = env('ISSUER');
const CLIENT_ID = env('CLIENT_ID');
const REDIRECT_URI = env('REDIRECT_URI');
const USERNAME = env('USERNAME');
const PASSWORD = env('PASSWORD');

const dispatcher = new Agent({
  connect: {
    cert: readFileSync(env('CLIENT_CERT')),
    key: readFileSync(env('CLIENT_KEY')),
    ca: readFileSync(env('CA_CERT')),
  },
});

/** openid-client's customFetch: the same request, sent through the mTLS dispatcher. */
const mtlsFetch = (url, options) => fetch(url, { ...options, dispatcher });

// --- The user's side: plain HTTP with a cookie jar and manual redirects. ---

const cookies = new Map();

async function userRequest(method, url, form) {
  const headers = { accept: 'text/html' };
  if (cookies.size > 0) {
    headers.cookie = [...cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
  let body;
  if (form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = form.toString();
  }
  const response = await fetch(url, { method, headers, body, redirect: 'manual', dispatcher });
  for (const setCookie of response.headers.getSetCookie()) {
    const pair = setCookie.split(';', 1)[0];
    const eq = pair.indexOf('=');
    if (eq > 0) cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
  }
  return response;
}

async function unexpected(response, method, url, expected) {
  const text = await response.text().catch(() => '');
  return new Error(
    `${method} ${url}: expected ${expected}, got HTTP ${response.status}` +
      (text ? `\n--- response body (first 2000 chars) ---\n${text.slice(0, 2000)}` : ''),
  );
}

/** The absolute URL a 303 points to. */
async function expectSeeOther(response, method, url) {
  const location = response.headers.get('location');
  if (response.status !== 303 || !location) {
    throw await unexpected(response, method, url, '303 with a Location');
  }
  return new URL(location, url).href;
}

/** GET an HTML page, following redirects on the server itself; returns { url, html }. */
async function getPage(url) {
  for (let hops = 0; hops < 10; hops++) {
    const response = await userRequest('GET', url);
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      url = new URL(location, url).href;
      if (url.startsWith(REDIRECT_URI)) {
        throw new Error(`redirected to the client before a page was shown: ${url}`);
      }
      continue;
    }
    if (response.status !== 200) throw await unexpected(response, 'GET', url, '200');
    return { url, html: await response.text() };
  }
  throw new Error(`too many redirects, last: ${url}`);
}

// --- Minimal HTML form parsing (the server's pages are simple and server-rendered). ---

const NAMED_ENTITIES = { amp: '&', quot: '"', apos: "'", lt: '<', gt: '>' };

function unescapeHtml(text) {
  return text.replace(/&(#x[0-9a-f]+|#[0-9]+|amp|quot|apos|lt|gt);/gi, (entity, body) => {
    if (body[0] !== '#') return NAMED_ENTITIES[body.toLowerCase()];
    const code = body[1] === 'x' || body[1] === 'X' ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
    return String.fromCodePoint(code);
  });
}

function attributes(tag) {
  const attrs = {};
  for (const [, name, , doubleQuoted, singleQuoted, bare] of tag.matchAll(
    /([^\s=<>\/"']+)(\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?/g,
  )) {
    attrs[name.toLowerCase()] = unescapeHtml(doubleQuoted ?? singleQuoted ?? bare ?? '');
  }
  return attrs;
}

/** The inner HTML of the form posting to `action`, or an error quoting the page. */
function findForm(html, action, pageUrl) {
  for (const [, formAttrs, inner] of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const attrs = attributes(formAttrs);
    if (attrs.action === action && (attrs.method ?? '').toLowerCase() === 'post') return inner;
  }
  throw new Error(
    `no <form method="post" action="${action}"> on ${pageUrl}\n--- page (first 2000 chars) ---\n` +
      html.slice(0, 2000),
  );
}

/** Attributes of every <input> and <button> in a form. */
function controls(formHtml) {
  return [...formHtml.matchAll(/<(?:input|button)\b([^>]*)>/gi)].map(([, attrs]) => attributes(attrs));
}

function hiddenValue(formHtml, name) {
  const input = controls(formHtml).find((c) => c.name === name && c.type === 'hidden');
  if (!input) throw new Error(`no hidden input name="${name}" in form:\n${formHtml.slice(0, 2000)}`);
  return input.value ?? '';
}

// --- The flow. ---

async function main() {
  const config = await client.discovery(
    new URL(ISSUER),
    CLIENT_ID,
    { redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'self_signed_tls_client_auth' },
    client.TlsClientAuth(),
    { [client.customFetch]: mtlsFetch, execute: [] },
  );

  const pkceCodeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const authorizationUrl = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope: 'openid profile email',
    code_challenge: await client.calculatePKCECodeChallenge(pkceCodeVerifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });

  // Sign in.
  const signIn = await getPage(authorizationUrl.href);
  const loginForm = findForm(signIn.html, '/oauth2/authorize/login', signIn.url);
  const loginUrl = new URL('/oauth2/authorize/login', signIn.url).href;
  const loginResponse = await userRequest(
    'POST',
    loginUrl,
    new URLSearchParams({
      username: USERNAME,
      password: PASSWORD,
      csrf: hiddenValue(loginForm, 'csrf'),
      request: hiddenValue(loginForm, 'request'),
    }),
  );
  const afterLogin = await expectSeeOther(loginResponse, 'POST', loginUrl);

  // Consent: approve once, every claim offered.
  const consent = await getPage(afterLogin);
  const consentForm = findForm(consent.html, '/oauth2/authorize/consent', consent.url);
  const consentParams = new URLSearchParams({
    csrf: hiddenValue(consentForm, 'csrf'),
    request: hiddenValue(consentForm, 'request'),
    decision: 'approve_once',
  });
  for (const control of controls(consentForm)) {
    if (control.name === 'claim' && control.type === 'checkbox') consentParams.append('claim', control.value);
  }
  const consentUrl = new URL('/oauth2/authorize/consent', consent.url).href;
  const consentResponse = await userRequest('POST', consentUrl, consentParams);
  const callback = await expectSeeOther(consentResponse, 'POST', consentUrl);
  if (!callback.startsWith(REDIRECT_URI)) {
    throw new Error(`consent redirected to ${callback}, not to the redirect_uri ${REDIRECT_URI}`);
  }

  // Back at the RP: redeem the code, then ask for userinfo with the certificate-bound token.
  const tokens = await client.authorizationCodeGrant(config, new URL(callback), {
    pkceCodeVerifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  });
  const claims = tokens.claims();
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);

  console.log(
    JSON.stringify({
      id_token_claims: claims,
      userinfo,
      token_response: {
        token_type: tokens.token_type,
        scope: tokens.scope,
        expires_in: tokens.expires_in,
        has_refresh_token: typeof tokens.refresh_token === 'string',
      },
      metadata_issuer: config.serverMetadata().issuer,
    }),
  );
}

function describe(error, depth = 0) {
  if (!(error instanceof Error)) {
    return typeof error === 'string' ? error : JSON.stringify(error);
  }
  const lines = [`${error.name}: ${error.message}`];
  for (const field of ['code', 'status', 'error', 'error_description', 'error_uri']) {
    if (error[field] !== undefined) lines.push(`  ${field}: ${error[field]}`);
  }
  if (error.cause !== undefined && depth < 5) {
    lines.push(`  cause: ${describe(error.cause, depth + 1).replace(/\n/g, '\n  ')}`);
  }
  if (depth === 0 && error.stack) {
    lines.push(...error.stack.split('\n').filter((line) => /^\s+at /.test(line)));
  }
  return lines.join('\n');
}

try {
  await main();
  await dispatcher.close();
} catch (error) {
  console.error(`rp.mjs failed: ${describe(error)}`);
  process.exit(1);
}
