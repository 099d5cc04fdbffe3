/**
 * Launches headless Chromium for browser tests, with a fresh profile that is removed on close.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type BrowserContext } from 'playwright-core'

/** Debian's Chromium, which CI installs with apt. */
export const CHROMIUM_PATH = '/usr/bin/chromium'

/**
 * Flags of every launch. The test machines have no outside network, and without the
 * background-networking flags Chromium floods it with connections that are refused.
 */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/**
 * Why browser tests cannot run here, or `false` when they can. `TIDINGS_REQUIRE_SERVICES=1`
 * turns a missing Chromium from a skip into a failure, through `chromiumRequired`.
 */
export const chromiumSkipReason: string | false = existsSync(CHROMIUM_PATH)
  ? false
  : `Chromium is not installed at ${CHROMIUM_PATH}`

/** Whether a missing Chromium must fail the run instead of skipping the browser tests. */
export const chromiumRequired = process.env.TIDINGS_REQUIRE_SERVICES === '1'

/** A running Chromium with its own profile. */
export interface ChromiumSession {
  readonly context: BrowserContext
  /** Closes the browser and removes its profile folder. */
  close(): Promise<void>
}

/** Launches headless Chromium with a fresh temporary profile. */
export async function launchChromium(): Promise<ChromiumSession> {
  const profile = mkdtempSync(join(tmpdir(), 'tidings-chromium-'))
  try {
    // Playwright passes the profile as --user-data-dir; it rejects that flag in `args`.
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 800 },
    })
    return {
      context,
      async close() {
        await context.close()
        rmSync(profile, { recursive: true, force: true })
      },
    }
  } catch (err) {
    rmSync(profile, { recursive: true, force: true })
    throw err
  }
}
