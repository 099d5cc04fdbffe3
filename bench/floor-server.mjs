/**
 * Floor of the fan-out benchmark: about the least work a node:http server can do to broadcast
 * server-sent events. It builds one frame per published event and writes that same buffer to every
 * open stream. It keeps no log, assigns no ids, and does not look at backpressure.
 *
 * It serves the hub's two paths, so that one load generator drives both:
 * - `GET /api/v1/sse` opens a stream, which starts with one comment line;
 * - `POST /api/v1/events` sends the body, as one `data:` line, to every open stream, then responds
 *   with `202`.
 *
 * Listens on 127.0.0.1, port `$PORT`.
 * @module
 */
import { createServer } from 'node:http'

const port = Number(process.env.PORT)
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  throw new RangeError(`Invalid PORT "${process.env.PORT}"; expected an integer from 1 to 65535`)
}

/** Open event streams. */
const streams = new Set()
const DATA_PREFIX = Buffer.from('data: ')
const FRAME_END = Buffer.from('\n\n')

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/api/v1/sse') {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
    // The comment sends the response head, so the client knows that its stream is open.
    res.write(': open\n\n')
    streams.add(res)
    res.on('close', () => streams.delete(res))
    return
  }
  if (req.method === 'POST' && req.url === '/api/v1/events') {
    const parts = []
    req.on('data', (part) => parts.push(part))
    req.on('end', () => {
      // NOTE: the body is sent unchecked as one data line. The benchmark only publishes JSON
      // without line breaks, which makes a valid frame.
      const frame = Buffer.concat([DATA_PREFIX, ...parts, FRAME_END])
      for (const stream of streams) stream.write(frame)
      res.writeHead(202, { 'content-type': 'application/json' }).end('{}')
    })
    return
  }
  res.writeHead(404).end()
})

server.listen(port, '127.0.0.1')
