/**
 * Configuration of the standalone hub from command-line flags and their environment variable
 * twins. A flag wins over its variable; every value is checked here, at start.
 * @module
 */
import { parseArgs } from 'node:util'
import { DEFAULTS } from '../constants.js'
import { InvalidOptionError, quoteForMessage } from '../errors.js'

/** Settings of the standalone hub. Durations are in milliseconds. */
export interface HubConfig {
  readonly port: number
  readonly host: string
  readonly storeUrl: string
  readonly logLevel: string
  readonly heartbeatIntervalMs: number
  readonly retryMs: number
  readonly subscriptionTtlMs: number
  readonly retentionMaxAgeMs: number
  readonly retentionMaxEvents: number
  readonly uncleanResumeWindow: number
  readonly maxBodyBytes: number
  readonly slowSubscriberTimeoutMs: number
  readonly namedEvents: boolean
  readonly shutdownGraceMs: number
}

interface IntegerSetting {
  readonly flag: string
  readonly key: keyof HubConfig
  readonly min: number
  readonly max: number
  readonly fallback: number
  readonly help: string
}

const INTEGER_SETTINGS: readonly IntegerSetting[] = [
  {
    flag: 'port',
    key: 'port',
    min: 0,
    max: 65535,
    fallback: DEFAULTS.port,
    help: 'HTTP port; 0 picks a free one',
  },
  {
    flag: 'heartbeat-ms',
    key: 'heartbeatIntervalMs',
    min: 1,
    max: 2 ** 31 - 1,
    fallback: DEFAULTS.heartbeatIntervalMs,
    help: 'interval between heartbeat comments on idle streams',
  },
  {
    flag: 'retry-ms',
    key: 'retryMs',
    min: 0,
    max: 2 ** 31 - 1,
    fallback: DEFAULTS.retryMs,
    help: 'reconnection delay sent to clients',
  },
  {
    flag: 'subscription-ttl-ms',
    key: 'subscriptionTtlMs',
    min: 1,
    max: Number.MAX_SAFE_INTEGER,
    fallback: DEFAULTS.subscriptionTtlMs,
    help: 'time after which an unseen subscription expires',
  },
  {
    flag: 'retention-max-age-ms',
    key: 'retentionMaxAgeMs',
    min: 1,
    max: Number.MAX_SAFE_INTEGER,
    fallback: DEFAULTS.retentionMaxAgeMs,
    help: 'age after which events leave the log',
  },
  {
    flag: 'retention-max-events',
    key: 'retentionMaxEvents',
    min: 1,
    max: Number.MAX_SAFE_INTEGER,
    fallback: DEFAULTS.retentionMaxEvents,
    help: 'number of newest events the log keeps',
  },
  {
    flag: 'unclean-resume-window',
    key: 'uncleanResumeWindow',
    min: 0,
    max: 1_000_000,
    fallback: DEFAULTS.uncleanResumeWindow,
    help: 'events replayed again when a subscription resumes by path id after an unclean break',
  },
  {
    flag: 'max-body-bytes',
    key: 'maxBodyBytes',
    min: 1,
    max: 64 * 1024 * 1024,
    fallback: DEFAULTS.maxBodyBytes,
    help: 'maximum request body size',
  },
  {
    flag: 'slow-subscriber-timeout-ms',
    key: 'slowSubscriberTimeoutMs',
    min: 1,
    max: 2 ** 31 - 1,
    fallback: DEFAULTS.slowSubscriberTimeoutMs,
    help: 'time a subscriber may leave its socket buffer full before it is disconnected',
  },
  {
    flag: 'shutdown-grace-ms',
    key: 'shutdownGraceMs',
    min: 0,
    max: 2 ** 31 - 1,
    fallback: DEFAULTS.shutdownGraceMs,
    help: 'time open streams get to end on shutdown',
  },
]

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

/** Returns the environment variable twin of a flag: `--heartbeat-ms` is `TIDINGS_HEARTBEAT_MS`. */
export function envName(flag: string): string {
  return `TIDINGS_${flag.toUpperCase().replaceAll('-', '_')}`
}

function parseInteger(setting: IntegerSetting, raw: string, source: string): number {
  const value = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : NaN
  if (!Number.isSafeInteger(value) || value < setting.min || value > setting.max) {
    throw new InvalidOptionError(
      `Invalid ${source} ${quoteForMessage(raw)}; expected an integer from ${setting.min} to ${setting.max}`,
    )
  }
  return value
}

function parseBoolean(raw: string, source: string): boolean {
  if (/^(1|true|yes)$/i.test(raw)) return true
  if (/^(0|false|no|)$/i.test(raw)) return false
  throw new InvalidOptionError(`Invalid ${source} ${quoteForMessage(raw)}; expected true or false`)
}

/** Help text of the `serve` command's options. */
export function configHelp(): string {
  const rows = [
    ['--host', 'TIDINGS_HOST', `interface to listen on (default ${DEFAULTS.host})`],
    [
      '--store',
      'TIDINGS_STORE',
      `store URL: memory:, sqlite:<path>, redis://…?prefix=<p> or postgres://…?schema=<s> (default ${DEFAULTS.storeUrl})`,
    ],
    ...INTEGER_SETTINGS.map((s) => [
      `--${s.flag}`,
      s.flag === 'port' ? 'TIDINGS_PORT, PORT' : envName(s.flag),
      `${s.help} (default ${s.fallback})`,
    ]),
    [
      '--named-events',
      'TIDINGS_NAMED_EVENTS',
      'true to also write "event: <eventType>" lines (default false)',
    ],
    ['--log-level', 'TIDINGS_LOG_LEVEL', `one of ${LOG_LEVELS.join(', ')} (default info)`],
  ]
  const flagWidth = Math.max(...rows.map(([flag]) => flag!.length)) + 2
  const envWidth = Math.max(...rows.map(([, env]) => env!.length)) + 2
  return rows
    .map(([flag, env, help]) => `  ${flag!.padEnd(flagWidth)}${env!.padEnd(envWidth)}${help}`)
    .join('\n')
}

/**
 * Reads the configuration from flags and environment variables.
 * @throws {InvalidOptionError} for an unknown flag or a value out of range.
 */
export function readHubConfig(args: readonly string[], env: NodeJS.ProcessEnv): HubConfig {
  const options: Record<string, { type: 'string' }> = {
    host: { type: 'string' },
    store: { type: 'string' },
    'log-level': { type: 'string' },
    'named-events': { type: 'string' },
  }
  for (const setting of INTEGER_SETTINGS) options[setting.flag] = { type: 'string' }
  let values: Record<string, string | boolean | undefined>
  try {
    values = parseArgs({ args: [...args], options, strict: true, allowPositionals: false }).values
  } catch (err) {
    const message = (err as Error).message.replace(/\.$/, '')
    throw new InvalidOptionError(`${message}; run "tidings help" for the options`)
  }

  const text = (flag: string): [string, string] | undefined => {
    const fromFlag = values[flag]
    if (typeof fromFlag === 'string') return [fromFlag, `--${flag}`]
    const name = envName(flag)
    if (env[name] !== undefined && env[name] !== '') return [env[name], name]
    if (flag === 'port' && env['PORT']) return [env['PORT'], 'PORT']
    return undefined
  }

  const config: Record<string, unknown> = {}
  for (const setting of INTEGER_SETTINGS) {
    const found = text(setting.flag)
    config[setting.key] = found ? parseInteger(setting, found[0], found[1]) : setting.fallback
  }
  const logLevel = text('log-level')?.[0] ?? 'info'
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new InvalidOptionError(
      `Invalid log level ${quoteForMessage(logLevel)}; expected one of ${LOG_LEVELS.join(', ')}`,
    )
  }
  const namedEvents = text('named-events')
  return {
    ...(config as Omit<HubConfig, 'host' | 'storeUrl' | 'logLevel' | 'namedEvents'>),
    host: text('host')?.[0] ?? DEFAULTS.host,
    storeUrl: text('store')?.[0] ?? DEFAULTS.storeUrl,
    logLevel,
    namedEvents: namedEvents ? parseBoolean(namedEvents[0], namedEvents[1]) : false,
  }
}
