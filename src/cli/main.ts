#!/usr/bin/env node
/**
 * The `tidings` command: `serve` runs the hub, `publish` sends one event, `listen` prints a stream.
 * @module
 */
import { InvalidOptionError } from '../errors.js'
import { configHelp, readHubConfig } from '../server/hub-config.js'
import { createHubLogger, exitAfterFlush, startHub, stopOnSignals } from '../server/hub-server.js'
import { listen, publish } from './client-commands.js'

const USAGE = `Usage: tidings <command> [options]

Commands:
  serve                      run the hub (default)
  publish <url> <json>       publish one event, e.g.
                             tidings publish http://127.0.0.1:8080 '{"eventType":"PING"}'
  listen <url>               print the events of a new subscription, e.g.
                             tidings listen http://127.0.0.1:8080
  help                       show this text

Options of serve (flag, environment variable, meaning):
${configHelp()}
`

async function serve(args: string[]): Promise<void> {
  const config = readHubConfig(args, process.env)
  const log = createHubLogger(config.logLevel)
  // Signal handlers go in before the hub starts, so that a signal during start-up cannot kill
  // the process with its store half open.
  const stopper = stopOnSignals(log)
  try {
    stopper.attach(await startHub(config, { logger: log }))
  } catch (err) {
    const inUse = (err as NodeJS.ErrnoException).code === 'EADDRINUSE'
    const hint = inUse
      ? { hint: `port ${config.port} is in use; choose another with --port or PORT` }
      : {}
    log.fatal({ err, ...hint }, 'hub failed to start')
    exitAfterFlush(log, 1)
  }
}

async function main(argv: string[]): Promise<void> {
  const [command = 'serve', ...rest] = argv
  switch (command) {
    case 'serve':
      return serve(rest)
    case 'publish':
      return publish(rest)
    case 'listen':
      return listen(rest)
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE)
      return
    default:
      if (command.startsWith('--')) return serve(argv)
      throw new InvalidOptionError(
        `Unknown command "${command}"; run "tidings help" for the commands`,
      )
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`tidings: ${(err as Error).message}\n`)
  process.exit(2)
})
