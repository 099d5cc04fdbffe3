import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { runCli, startHubProcess } from './helpers/hub-process.js'
import { subscribe } from './helpers/sse-test-client.js'
import { makeTempDir, postJson } from './helpers/test-hub.js'

describe('tidings serve', () => {
  let temp: ReturnType<typeof makeTempDir>

  before(() => {
    temp = makeTempDir()
  })
  after(() => temp.remove())

  it('ends open streams cleanly and exits 0 on SIGTERM', async () => {
    const storeUrl = `sqlite:${join(temp.dir, 'hub.db')}`
    const hub = await startHubProcess(['serve', '--port', '0', '--store', storeUrl])
    const stream = await subscribe(`${hub.url}/api/v1/sse`)
    for (let i = 0; i < 20; i++)
      await postJson(`${hub.url}/api/v1/events`, { eventType: 'TICK', i })
    await stream.client.waitForEvents(21)

    const stoppedAt = Date.now()
    hub.child.kill('SIGTERM')
    await stream.client.ended
    const { code } = await hub.exited
    assert.equal(code, 0)
    assert.ok(Date.now() - stoppedAt < 3_000, `took ${Date.now() - stoppedAt} ms`)

    const messages = hub.logs.map((line) => line['msg'])
    assert.deepEqual(
      messages.filter((msg) => msg !== 'subscriber connected' && msg !== 'subscriber disconnected'),
      ['hub started', 'hub stopping', 'hub stopped'],
    )
    const started = hub.logs[0]!
    assert.equal(started['port'], hub.port)
    assert.equal(started['store'], 'sqlite')
    const disconnected = hub.logs.find((line) => line['msg'] === 'subscriber disconnected')!
    assert.equal(disconnected['reason'], 'shutdown')
    assert.equal(disconnected['state'], 'closed')
    assert.equal(disconnected['eventsSent'], 20)
    assert.equal(hub.stderr(), '')
  })

  it('logs no line per event at info level', async () => {
    const hub = await startHubProcess(['serve', '--port', '0', '--store', 'memory:'])
    try {
      const stream = await subscribe(`${hub.url}/api/v1/sse`)
      for (let i = 0; i < 30; i++)
        await postJson(`${hub.url}/api/v1/events`, { eventType: 'QUIET', i })
      await stream.client.waitForEvents(31)
      stream.client.close()
    } finally {
      hub.child.kill('SIGINT')
    }
    assert.equal((await hub.exited).code, 0)
    assert.deepEqual(
      hub.logs.map((line) => line['msg']),
      [
        'hub started',
        'subscriber connected',
        'subscriber disconnected',
        'hub stopping',
        'hub stopped',
      ],
    )
  })

  it('exits on SIGINT after the reader of its output has gone', async () => {
    const hub = await startHubProcess(['serve', '--port', '0', '--store', 'memory:'])
    const stream = await subscribe(`${hub.url}/api/v1/sse`)
    // As when Ctrl-C ends `tidings serve | tee hub.log`: the pipe's reader exits first.
    hub.child.stdout!.destroy()
    await stream.client.waitForEvents(1)
    hub.child.kill('SIGINT')
    const outcome = await Promise.race([
      hub.exited,
      new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 5_000)),
    ])
    if (outcome === 'hung') hub.child.kill('SIGKILL')
    assert.notEqual(outcome, 'hung')
    stream.client.close()
  })

  it('takes the port from PORT and the store from TIDINGS_STORE', async () => {
    const probe = await startHubProcess(['serve', '--port', '0', '--store', 'memory:'])
    probe.child.kill('SIGTERM')
    await probe.exited
    const hub = await startHubProcess(['serve'], {
      PORT: String(probe.port),
      TIDINGS_STORE: 'memory:',
    })
    assert.equal(hub.port, probe.port)
    assert.equal(hub.logs[0]!['store'], 'memory')
    hub.child.kill('SIGTERM')
    assert.equal((await hub.exited).code, 0)
  })
})

describe('tidings options', () => {
  const invalid: readonly [string, readonly string[], Record<string, string>, RegExp][] = [
    [
      'port out of range',
      ['serve', '--port', '70000'],
      {},
      /Invalid --port "70000"; expected an integer from 0 to 65535/,
    ],
    ['port that is not a number', ['serve'], { PORT: 'eighty' }, /Invalid PORT "eighty"/],
    [
      'unknown store scheme',
      ['serve', '--port', '0', '--store', 'mysql://x'],
      {},
      /Unknown store URL scheme/,
    ],
    ['unknown flag', ['serve', '--colour'], {}, /Unknown option '--colour'/],
    ['unknown command', ['frobnicate'], {}, /Unknown command "frobnicate"/],
    ['invalid log level', ['serve', '--log-level', 'loud'], {}, /Invalid log level "loud"/],
    [
      'named events that are not a boolean',
      ['serve', '--named-events', 'maybe'],
      {},
      /Invalid --named-events "maybe"; expected true or false/,
    ],
  ]
  for (const [name, args, env, message] of invalid) {
    it(`rejects ${name} with a message`, async () => {
      const result = await runCli(args, env)
      assert.notEqual(result.code, 0)
      assert.match(result.stderr + result.stdout, message)
    })
  }

  it('prints every option with its environment variable in help', async () => {
    const result = await runCli(['help'])
    assert.equal(result.code, 0)
    assert.match(result.stdout, /--heartbeat-ms\s+TIDINGS_HEARTBEAT_MS/)
    assert.match(result.stdout, /--port\s+TIDINGS_PORT, PORT/)
    assert.match(
      result.stdout,
      /--slow-subscriber-timeout-ms {2,}TIDINGS_SLOW_SUBSCRIBER_TIMEOUT_MS {2,}time/,
    )
  })

  it('names the flag to change when the port is in use', async () => {
    const first = await startHubProcess(['serve', '--port', '0', '--store', 'memory:'])
    try {
      const result = await runCli(['serve', '--port', String(first.port), '--store', 'memory:'])
      assert.equal(result.code, 1)
      const fatal = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>
      assert.equal(fatal['msg'], 'hub failed to start')
      assert.equal(
        fatal['hint'],
        `port ${first.port} is in use; choose another with --port or PORT`,
      )
    } finally {
      first.child.kill('SIGTERM')
      await first.exited
    }
  })

  it('lets --named-events false override the environment', async () => {
    const args = ['serve', '--port', '0', '--store', 'memory:', '--named-events', 'false']
    const hub = await startHubProcess(args, { TIDINGS_NAMED_EVENTS: 'true' })
    try {
      const stream = await subscribe(`${hub.url}/api/v1/sse`)
      const [established] = await stream.client.waitForEvents(1)
      assert.equal(established!.event, undefined)
      stream.client.close()
    } finally {
      hub.child.kill('SIGTERM')
      await hub.exited
    }
  })
})
