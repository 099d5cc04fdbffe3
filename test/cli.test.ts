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
  })
})
