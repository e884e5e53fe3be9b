// ONNX Runtime's own per-node profile of one exported network, to set
// beside `edgeattn-run --time N --nodes K`: the median kernel time of each
// node over the runs, slowest first. Usage (after bench/peers/run.sh OUT
// networks): NODE_PATH=OUT/node_modules node bench/peers/ort_profile.js
// OUT/onnx-networks network_efficientnet_b0 THREADS [RUNS]
const ort = require('onnxruntime-node');
const fs = require('fs');
const os = require('os');
const path = require('path');

async function main() {
  const [dir, name, threads, runs] = [process.argv[2], process.argv[3], Number(process.argv[4]),
                                      Number(process.argv[5] || 60)];
  const prefix = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ort-profile-')), name);
  const session = await ort.InferenceSession.create(path.join(dir, name + '.onnx'), {
    intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential',
    graphOptimizationLevel: 'all', enableProfiling: true, profileFilePrefix: prefix });
  const feeds = {};
  for (const input of session.inputNames) {
    const meta = JSON.parse(fs.readFileSync(path.join(dir, name + '.' + input + '.json')));
    feeds[input] = new ort.Tensor('float32', Float32Array.from(meta.data), meta.shape);
  }
  for (let i = 0; i < runs; i++) await session.run(feeds);
  session.endProfiling();
  await session.release();
  const file = fs.readdirSync(path.dirname(prefix)).find(f => f.endsWith('.json'));
  const events = JSON.parse(fs.readFileSync(path.join(path.dirname(prefix), file)));
  const times = new Map();  // node -> kernel times (us)
  for (const e of events)
    if (e.cat === 'Node' && e.name.endsWith('_kernel_time'))
      times.set(e.name, (times.get(e.name) || []).concat(e.dur));
  const median = v => v.slice().sort((a, b) => a - b)[Math.floor(v.length / 2)];
  const rows = [...times].map(([node, v]) => [median(v), node]).sort((a, b) => b[0] - a[0]);
  for (const [us, node] of rows) console.log(`${us.toFixed(1).padStart(10)} us  ${node.replace(/_kernel_time$/, '')}`);
}
main().catch(e => { console.error(e); process.exit(1); });
