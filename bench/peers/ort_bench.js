// Times the ONNX exports of the attention workloads in ONNX Runtime (CPU),
// with the timing rule of workloads.md. Usage: node ort_bench.js DIR THREADS
const ort = require('onnxruntime-node');
const fs = require('fs');
const path = require('path');

function now() { return Number(process.hrtime.bigint()) / 1e3; }  // microseconds

async function timed(fn) {
  const t0 = now();
  let n = 0;
  while (n < 5 || now() - t0 < 3e5) { await fn(); n++; }  // warm-up: 5 calls and 0.3 s
  const tCall = (now() - t0) / n;
  const iters = Math.floor(Math.min(Math.max(1.5e6 / tCall, 25), 5000));
  const us = [];
  for (let i = 0; i < iters; i++) { const t = now(); await fn(); us.push(now() - t); }
  us.sort((a, b) => a - b);
  return [us[Math.floor(iters / 2)], us[0]];
}

async function main() {
  const [dir, threads] = [process.argv[2], Number(process.argv[3])];
  const opts = { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential',
                 graphOptimizationLevel: 'all' };
  for (const file of fs.readdirSync(dir).filter(f => f.endsWith('.onnx')).sort()) {
    const session = await ort.InferenceSession.create(path.join(dir, file), opts);
    const feeds = {};
    for (const name of session.inputNames) {
      const meta = JSON.parse(fs.readFileSync(path.join(dir, file.replace('.onnx', '.' + name + '.json'))));
      feeds[name] = meta.dtype === 'int64'
        ? new ort.Tensor('int64', BigInt64Array.from(meta.data.map(BigInt)), meta.shape)
        : new ort.Tensor('float32', Float32Array.from(meta.data), meta.shape);
    }
    const [med, min] = await timed(() => session.run(feeds));
    console.log(`${file.replace('.onnx', '')} onnxruntime threads=${threads} median_us=${med.toFixed(3)} min_us=${min.toFixed(3)}`);
  }
}
main().catch(e => { console.error(e); process.exit(1); });
