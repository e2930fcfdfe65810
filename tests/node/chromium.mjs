// chromium.mjs — launches Debian's Chromium for the browser drivers (browser.mjs,
// playground.mjs) with the options this machine needs: no sandbox as root, and no background
// networking (the machine has no internet). CHROMIUM overrides the executable path.

import { chromium } from 'playwright-core';

export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
