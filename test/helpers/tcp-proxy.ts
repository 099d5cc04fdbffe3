/**
 * A TCP proxy on 127.0.0.1 that a test can cut, to simulate a database server that goes away
 * and comes back without touching the real server, which other tests share.
 */
import { connect, createServer, type Server, type Socket } from 'node:net'

/** A proxy to one target. */
export interface TcpProxy {
  readonly port: number
  /** Resets every open connection and refuses new ones, as a stopped server does. */
  cut(): Promise<void>
  /** Accepts connections again on the same port. */
  restore(): Promise<void>
  /** Keeps connections open but forwards nothing more, as a silent network partition does. */
  freeze(): void
  close(): Promise<void>
}

/** Starts a proxy on a free port that forwards to `targetHost:targetPort`. */
export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>()
  const track = (socket: Socket): void => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    socket.on('error', () => socket.destroy())
  }
  const listen = (server: Server, port: number): Promise<number> =>
    new Promise((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject)
        resolve((server.address() as { port: number }).port)
      })
    })
  const makeServer = (): Server =>
    createServer((client) => {
      const upstream = connect(targetPort, targetHost)
      track(client)
      track(upstream)
      client.pipe(upstream)
      upstream.pipe(client)
      client.once('close', () => upstream.destroy())
      upstream.once('close', () => client.destroy())
    })

  let server: Server | undefined = makeServer()
  const port = await listen(server, 0)
  const stop = async (): Promise<void> => {
    const closing = server
    server = undefined
    for (const socket of sockets) socket.resetAndDestroy()
    if (closing) await new Promise<void>((resolve) => closing.close(() => resolve()))
  }
  return {
    port,
    cut: stop,
    async restore() {
      if (server) return
      server = makeServer()
      await listen(server, port)
    },
    freeze() {
      for (const socket of sockets) {
        socket.unpipe()
        socket.pause()
      }
    },
    close: stop,
  }
}
