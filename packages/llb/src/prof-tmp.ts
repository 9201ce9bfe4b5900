import { image, mkfile, type State } from './index.js'
let state: State = image('busybox')
const t0 = performance.now()
for (let i = 1; i < 10000; i++) state = i % 2 === 0 ? state.run({ args: ['/bin/sh', '-c', `echo ${i}`], network: 'none' }).root() : state.file(mkfile(`/s${i}`, `s ${i}\n`))
const t1 = performance.now()
const d = state.marshal({ platform: 'linux/amd64', maxBytes: 1e12 })
const t2 = performance.now()
console.log('build', t1 - t0, 'marshal', t2 - t1, d.ops.size)
