// End-to-end tests in Debian's Chromium against a running `cinegen serve` (see scripts/web-test),
// whose address comes in CINEGEN_E2E_URL. Browsers are never downloaded.
import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: 'e2e',
  timeout: 240_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  // On CI a test that fails once is run again and reported as flaky rather than sinking the run;
  // locally a failure stops at once.
  retries: process.env.CI ? 1 : 0,
  reporter: [['list']],
  use: {
    baseURL: process.env.CINEGEN_E2E_URL ?? 'http://127.0.0.1:8000',
    locale: 'zh-CN',
    trace: 'retain-on-failure',
    actionTimeout: 30_000,
    navigationTimeout: 30_000,
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        // The local provider's clips are H.264; let them play without a user gesture.
        '--autoplay-policy=no-user-gesture-required',
      ],
    },
  },
});
