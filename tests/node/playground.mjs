// playground.mjs — drives Debian's Chromium (playwright-core, headless) through the certbound
// playground (`certbound playground`): client_credentials, the authorization code flow (signing in
// and approving at certbound), refresh, introspection, and the protected API with the right and
// with the other certificate. Every page is screenshotted into ARTIFACTS.
//
// Success: one JSON line on stdout summarizing what the pages showed, exit 0:
//   { "index_server_ok", "client_credentials", "authorization_code", "id_token_verified",
//     "access_token_verified", "refresh", "introspect", "introspect_cnf", "right_x5t",
//     "api_right", "api_other", "api_other_challenge", "screenshots" }
// Failure: the error on stderr, a screenshot at ARTIFACTS/error.png when a page was open, exit 1.
//
// Env: PLAYGROUND_URL (the index, e.g. http://localhost:8080/playground2/), USERNAME, PASSWORD,
// ARTIFACTS (directory, created), CHROMIUM (optional, default /usr/bin/chromium).

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { launchChromium } from './chromium.mjs';

function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is required`);
  return value;
}

const PLAYGROUND_URL = env('PLAYGROUND_URL');
const USERNAME = env('USERNAME');
const PASSWORD = env('PASSWORD');
const ARTIFACTS = env('ARTIFACTS');
const TIMEOUT_MS = 30_000;

mkdirSync(ARTIFACTS, { recursive: true });

const browser = await launchChromium();
let page;
const screenshots = [];

async function shot(name) {
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  screenshots.push(`${name}.png`);
}

// Clicks a playground button and waits for the result page of `step`.
async function step(button, stepName) {
  await page.click(button);
  await page.waitForSelector(`main[data-step="${stepName}"]`);
  await shot(stepName);
  return (await page.textContent('#status')).trim();
}

async function text(selector) {
  const el = await page.$(selector);
  return el ? (await el.textContent()).trim() : null;
}

try {
  const context = await browser.newContext({
    ignoreHTTPSErrors: true,
    viewport: { width: 1280, height: 900 },
  });
  context.setDefaultTimeout(TIMEOUT_MS);
  page = await context.newPage();

  await page.goto(PLAYGROUND_URL);
  await page.waitForSelector('main[data-step="index"]');
  const indexServerOk = (await page.getAttribute('#server-status', 'class')).includes('ok');
  const rightX5t = await text('#right-x5t');
  await shot('index');

  const clientCredentials = await step('#client-credentials', 'client-credentials');

  // Authorization code: certbound's sign-in and consent pages, then back to the callback.
  await page.click('#authorization-code');
  await page.waitForSelector('form[action="/oauth2/authorize/login"]');
  await shot('sign-in');
  await page.fill('input[name="username"]', USERNAME);
  await page.fill('input[name="password"]', PASSWORD);
  await page.click('#sign-in');
  await page.waitForSelector('form[action="/oauth2/authorize/consent"]');
  await shot('consent');
  await page.click('#approve-once');
  await page.waitForSelector('main[data-step="authorization-code"]');
  await shot('authorization-code');
  const authorizationCode = (await page.textContent('#status')).trim();
  const idTokenVerified = (await page.$('#jwt-id_token .verified')) !== null;
  const accessTokenVerified = (await page.$('#jwt-access_token .verified')) !== null;

  const refresh = await step('#refresh', 'refresh');
  const introspect = await step('#introspect', 'introspect');
  const introspectCnf = await text('#cnf');
  const apiRight = await step('#api-right', 'api-right');
  const apiOther = await step('#api-other', 'api-other');
  const apiOtherChallenge = await text('#www-authenticate');

  console.log(
    JSON.stringify({
      index_server_ok: indexServerOk,
      client_credentials: clientCredentials,
      authorization_code: authorizationCode,
      id_token_verified: idTokenVerified,
      access_token_verified: accessTokenVerified,
      refresh,
      introspect,
      introspect_cnf: introspectCnf,
      right_x5t: rightX5t,
      api_right: apiRight,
      api_other: apiOther,
      api_other_challenge: apiOtherChallenge,
      screenshots,
    }),
  );
} catch (error) {
  console.error(`playground.mjs failed (page at ${page ? page.url() : 'none'}): ${error.stack || error}`);
  if (page) {
    await page.screenshot({ path: join(ARTIFACTS, 'error.png'), fullPage: true }).catch(() => {});
  }
  process.exitCode = 1;
} finally {
  await browser.close();
}
