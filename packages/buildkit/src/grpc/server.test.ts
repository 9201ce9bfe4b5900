import { mkdtemp, rm } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { GrpcStatus } from '../errors.js'
import { connectHttp2, GrpcChannel } from './channel.js'
import { frame } from './framing.js'
import { SessionServer } from './server.js'

let dir: string
let listener: net.Server
let channel: GrpcChannel
const server = new SessionServer()

server.unary('/test.Echo/Upper', (request) => Buffer.from(request.toString().toUpperCase()))
server.unary('/test.Echo/Refuse', () => {
  throw { code: GrpcStatus.NOT_FOUND, details: 'nothing here, 100%' }
})
server.unary('/test.Echo/Metadata', (_request, call) => Buffer.from(JSON.stringify(call.metadata.get('x-list'))))
server.bidi('/test.Echo/Stream', (call) => {
  let count = 0
  call.on('data', (message: Buffer) => {
    count++
    // Three messages per request, two of them already framed together: they arrive as separate messages.
    call.write(message)
    call.writeFramed(Buffer.concat([frame(Buffer.from(`${message.toString()}-a`)), frame(Buffer.alloc(0))]))
  })
  call.on('end', () => {
    call.write(Buffer.from(`count ${count}`))
    call.end()
  })
})
server.bidi('/test.Echo/Counters', (call) => {
  // bytesQueued counts at once, bytesWritten once the connection took the bytes ('written').
  call.on('data', () => {
    call.writeFramed(frame(Buffer.alloc(1000, 1)))
    const queued = call.bytesQueued
    const writtenBefore = call.bytesWritten
    call.once('written', () => {
      call.write(Buffer.from(JSON.stringify({ queued, writtenBefore, written: call.bytesWritten })))
      call.end()
    })
    call.flush()
  })
})
server.bidi('/test.Echo/Late', (call) => {
  // A handler that starts reading only later still gets every message and the end.
  setTimeout(() => {
    void (async () => {
      const seen: string[] = []
      for await (const message of call.messages()) seen.push(message.toString())
      call.write(Buffer.from(seen.join(',')))
      call.end()
    })()
  }, 50)
})

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiln-server-'))
  const path = join(dir, 'sock')
  listener = net.createServer((socket) => server.inject(socket))
  await new Promise<void>((resolve) => listener.listen(path, resolve))
  const socket = net.connect(path)
  await new Promise((resolve) => socket.once('connect', resolve))
  channel = new GrpcChannel(await connectHttp2(socket), { address: 'test', keepaliveMs: 0 })
})

afterAll(async () => {
  channel.destroy()
  server.close()
  listener.close()
  await rm(dir, { recursive: true, force: true })
})

describe('SessionServer', () => {
  it('answers unary calls', async () => {
    expect((await channel.unary('/test.Echo/Upper', Buffer.from('health'))).toString()).toBe('HEALTH')
  })

  it('sends the status a handler fails with, and UNIMPLEMENTED for unknown methods', async () => {
    await expect(channel.unary('/test.Echo/Refuse', Buffer.alloc(0))).rejects.toMatchObject({ grpcCode: GrpcStatus.NOT_FOUND, message: expect.stringContaining('nothing here, 100%') })
    await expect(channel.unary('/test.Nope/Nothing', Buffer.alloc(0))).rejects.toMatchObject({ grpcCode: GrpcStatus.UNIMPLEMENTED })
  })

  it('keeps repeated metadata values apart', async () => {
    const answer = await channel.unary('/test.Echo/Metadata', Buffer.alloc(0), { metadata: { 'x-list': ['a, b', 'c'] } })
    expect(JSON.parse(answer.toString())).toEqual(['a, b', 'c'])
  })

  it('streams both ways, many messages batched into few writes, in order', async () => {
    const call = channel.open('/test.Echo/Stream')
    for (let i = 0; i < 1000; i++) void call.send(Buffer.from(`m${i}`))
    call.end()
    const received: string[] = []
    for await (const message of call) received.push(message.toString())
    const expected: string[] = []
    for (let i = 0; i < 1000; i++) expected.push(`m${i}`, `m${i}-a`, '')
    expect(received).toEqual([...expected, 'count 1000'])
  })

  it('counts bytes queued and bytes written', async () => {
    const call = channel.open('/test.Echo/Counters')
    await call.send(Buffer.from('go'))
    call.end()
    const received: string[] = []
    for await (const message of call) received.push(message.toString())
    expect(received.at(-1) && JSON.parse(received.at(-1) as string)).toEqual({ queued: 1005, writtenBefore: 0, written: 1005 })
  })

  it('keeps messages for a handler that starts reading late', async () => {
    const call = channel.open('/test.Echo/Late')
    await call.send(Buffer.from('one'))
    await call.send(Buffer.from('two'))
    call.end()
    const received: string[] = []
    for await (const message of call) received.push(message.toString())
    expect(received).toEqual(['one,two'])
  })
})
