// browser.mjs — drives Debian's Chromium (playwright-core, headless, phone-sized viewport) through
// certbound's sign-in and consent pages for an authorization URL built elsewhere.
//
// It opens AUTHORIZE_URL, screenshots the sign-in page, signs in (#sign-in), screenshots the consent
// page, clicks #approve-once (or #approve-always / #deny per DECISION) and waits for the redirect
// to REDIRECT_URI, which is intercepted and answered locally (nothing needs to listen there).
//
// Success: one JSON line on stdout { "final_url", "consent_page_text", "sign_in_title" }, exit 0.
// Failure: the error on stderr, a screenshot at ARTIFACTS/error.png when a page was open, exit 1.
//
// Env: AUTHORIZE_URL, REDIRECT_URI, USERNAME, PASSWORD, ARTIFACTS (directory, created),
// DECISION (optional: approve_once (default) | approve_always | deny),
// CHROMIUM (optional, default /usr/bin/chromium).

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { launchChromium } from './chromium.mjs';

function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is required`);
  return value;
}

const DECISION_BUTTONS = {
  approve_once: '#approve-once',
  approve_always: '#approve-always',
  deny: '#deny',
};

const AUTHORIZE_URL = env('AUTHORIZE_URL');
const REDIRECT_URI = env('REDIRECT_URI');
const USERNAME = env('USERNAME');
const PASSWORD = env('PASSWORD');
const ARTIFACTS = env('ARTIFACTS');
const DECISION = process.env.DECISION || 'approve_once';
const decisionButton = DECISION_BUTTONS[DECISION];
if (!decisionButton) {
  throw new Error(`DECISION must be one of ${Object.keys(DECISION_BUTTONS).join(', ')}, not ${DECISION}`);
}
const TIMEOUT_MS = 30_000;

mkdirSync(ARTIFACTS, { recursive: true });

const browser = await launchChromium();
let page;
try {
  const context = await browser.newContext({
    ignoreHTTPSErrors: true,
    viewport: { width: 390, height: 844 },
  });
  context.setDefaultTimeout(TIMEOUT_MS);
  // The relying party's callback: answered here, so no server has to listen on REDIRECT_URI.
  await context.route(REDIRECT_URI + '**', (route) =>
    route.fulfill({ status: 200, contentType: 'text/html', body: '<p>redirected</p>' }),
  );
  page = await context.newPage();

  await page.goto(AUTHORIZE_URL);
  await page.waitForSelector('form[action="/oauth2/authorize/login"]');
  const signInTitle = await page.title();
  await page.screenshot({ path: join(ARTIFACTS, 'sign-in.png'), fullPage: true });

  await page.fill('input[name="username"]', USERNAME);
  await page.fill('input[name="password"]', PASSWORD);
  await page.click('#sign-in');

  const consentForm = page.locator('form[action="/oauth2/authorize/consent"]');
  await consentForm.waitFor();
  const consentPageText = await consentForm.innerText();
  await page.screenshot({ path: join(ARTIFACTS, 'consent.png'), fullPage: true });

  await page.click(decisionButton);
  await page.waitForURL((url) => url.href.startsWith(REDIRECT_URI));

  console.log(
    JSON.stringify({
      final_url: page.url(),
      consent_page_text: consentPageText,
      sign_in_title: signInTitle,
    }),
  );
} catch (error) {
  console.error(`browser.mjs failed (page at ${page ? page.url() : 'none'}): ${error.stack || error}`);
  if (page) {
    await page.screenshot({ path: join(ARTIFACTS, 'error.png'), fullPage: true }).catch(() => {});
  }
  process.exitCode = 1;
} finally {
  await browser.close();
}
