// console.mjs — drives Debian's Chromium (playwright-core, headless) through certbound's
// management console, as an administrator following the reference's WSO2 flow: sign in,
// register a service provider by pasting its certificate into "Application Certificate" with a
// callback URL, read the generated client id, open the detail page and read the x5t#S256;
// then submit a bad PEM and read the field error. Deleting is a second phase (PHASE=delete),
// run after the Rust test has obtained a token with the certificate.
//
// Success: one JSON line on stdout, exit 0:
//   PHASE=create: { "client_id", "x5t", "detail_text", "list_text", "field_error" }
//   PHASE=delete: { "list_text_after", "detail_status_after" }
// Failure: the error on stderr, a screenshot at ARTIFACTS/console-error.png, exit 1.
//
// Env: CONSOLE_URL (https://host:port/console), USERNAME, PASSWORD, CERT_PEM (the PEM text),
// CALLBACK_URL, NAME, ARTIFACTS (directory), PHASE (create | delete), CLIENT_ID (delete),
// CHROMIUM (optional).

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { launchChromium } from './chromium.mjs';

function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is required`);
  return value;
}

const CONSOLE_URL = env('CONSOLE_URL');
const USERNAME = env('USERNAME');
const PASSWORD = env('PASSWORD');
const ARTIFACTS = env('ARTIFACTS');
const PHASE = process.env.PHASE || 'create';
const TIMEOUT_MS = 30_000;

mkdirSync(ARTIFACTS, { recursive: true });
const shot = (page, name) => page.screenshot({ path: join(ARTIFACTS, `console-${name}.png`), fullPage: true });

async function signIn(page) {
  await page.goto(CONSOLE_URL);
  // Not signed in: the console sends the browser to its sign-in page.
  await page.waitForURL((url) => url.pathname === '/console/login');
  await page.fill('input[name="username"]', USERNAME);
  await page.fill('input[name="password"]', PASSWORD);
  await page.click('#sign-in');
  await page.waitForSelector('h1:has-text("Service providers")');
}

async function create(page) {
  const NAME = env('NAME');
  const CERT_PEM = env('CERT_PEM');
  const CALLBACK_URL = env('CALLBACK_URL');
  await signIn(page);
  await page.click('#add');
  await page.waitForSelector('form[action="/console/clients"]');
  await page.fill('#name', NAME);
  await page.fill('#certificate', CERT_PEM);
  await page.fill('#redirect_uris', CALLBACK_URL);
  await page.selectOption('#auth_method', 'self_signed_tls_client_auth');
  await shot(page, 'create-form');
  await page.click('#save');
  const clientId = (await page.locator('#client-id').innerText()).trim();
  const secretShown = await page.locator('#client-secret').count();
  await shot(page, 'created');

  await page.click('#details');
  await page.waitForSelector('code.x5t');
  const x5t = (await page.locator('code.x5t').first().innerText()).trim();
  const detailText = await page.locator('main').innerText();
  await shot(page, 'detail');

  await page.goto(CONSOLE_URL);
  const listText = await page.locator('#clients').innerText();
  await shot(page, 'list');

  // A bad PEM: the form comes back with the entered values and the error on its field.
  await page.goto(new URL('/console/clients/new', CONSOLE_URL).href);
  await page.fill('#name', `${NAME} (bad)`);
  await page.fill('#certificate', '-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----');
  await page.fill('#redirect_uris', CALLBACK_URL);
  await page.click('#save');
  const fieldError = (await page.locator('#certificate-error').innerText()).trim();
  const keptName = await page.inputValue('#name');
  await shot(page, 'field-error');

  return {
    client_id: clientId,
    secret_shown: secretShown > 0,
    x5t,
    detail_text: detailText,
    list_text: listText,
    field_error: fieldError,
    kept_name: keptName,
  };
}

async function remove(page) {
  const CLIENT_ID = env('CLIENT_ID');
  await signIn(page);
  await page.goto(new URL(`/console/clients/${CLIENT_ID}`, CONSOLE_URL).href);
  await page.click('#delete');
  await page.waitForSelector('#confirm');
  await shot(page, 'delete-confirm');
  await page.check('#confirm');
  await page.click('#confirm-delete');
  await page.waitForSelector('.notice');
  const listTextAfter = await page.locator('main').innerText();
  const after = await page.goto(new URL(`/console/clients/${CLIENT_ID}`, CONSOLE_URL).href);
  return { list_text_after: listTextAfter, detail_status_after: after.status() };
}

const browser = await launchChromium();
let page;
try {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1100, height: 800 } });
  context.setDefaultTimeout(TIMEOUT_MS);
  page = await context.newPage();
  const result = PHASE === 'delete' ? await remove(page) : await create(page);
  console.log(JSON.stringify(result));
} catch (error) {
  console.error(`console.mjs failed (page at ${page ? page.url() : 'none'}): ${error.stack || error}`);
  if (page) await shot(page, 'error').catch(() => {});
  process.exitCode = 1;
} finally {
  await browser.close();
}
