// SPDX-License-Identifier: BSD-3-Clause
//
// ONNX Runtime peer of hpk-bench's net family, through the npm package onnxruntime-node (its
// CPU library ships in the package; install it with scripts off:
//     cd bench/peers && npm install --ignore-scripts --no-save onnxruntime-node
// ). Times the ONNX models bench/peers/torch_nets.py --export-onnx DIR wrote, batch 1,
// 224x224x3, on intraOpNumThreads = N (inter-op 1, sequential execution, all graph
// optimisations on): W warm-up runs, then the best (and median) of R.
//
//     node ort_nets.js --models DIR [--threads N ...] [--reps R] [--warmup W] [--nets a,b]
//
// Prints one JSON line per network and thread count: {"lib": "onnxruntime", "version": ...,
// "net": ..., "threads": N, "ms": ..., "median_ms": ...}; a missing piece is reported as
// {"lib": "onnxruntime", "missing": reason} (exit 0), a missing model as {"net", "missing"}.
'use strict';

const fs = require('fs');
const path = require('path');

function parse(argv) {
  const a = { models: '', threads: [1], reps: 10, warmup: 3, nets: ['resnet50', 'mobilenetv2'] };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '--models') a.models = argv[++i];
    else if (k === '--reps') a.reps = parseInt(argv[++i], 10);
    else if (k === '--warmup') a.warmup = parseInt(argv[++i], 10);
    else if (k === '--nets') a.nets = argv[++i].split(',').filter((s) => s);
    else if (k === '--threads') {
      a.threads = [];
      while (i + 1 < argv.length && /^\d+$/.test(argv[i + 1])) a.threads.push(+argv[++i]);
    } else throw new Error(`ort_nets.js: unknown argument ${k}`);
  }
  return a;
}

function median(xs) {
  const s = [...xs].sort((p, q) => p - q);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function main() {
  const args = parse(process.argv.slice(2));
  let ort;
  try {
    ort = require('onnxruntime-node');
  } catch (e) {
    console.log(JSON.stringify({ lib: 'onnxruntime', missing: `require failed: ${e.message}` }));
    return;
  }
  const version = (ort.env && ort.env.versions && ort.env.versions.node) || '?';
  // Fixed-seed input in [-1, 1), NCHW as exported.
  const x = new Float32Array(3 * 224 * 224);
  let r = 99;
  for (let i = 0; i < x.length; i++) {
    r = (Math.imul(r, 1664525) + 1013904223) >>> 0;
    x[i] = (r >>> 8) * (2 / 16777216) - 1;
  }
  for (const t of args.threads) {
    for (const net of args.nets) {
      const file = path.join(args.models, `${net}.onnx`);
      if (!fs.existsSync(file)) {
        console.log(JSON.stringify({ lib: 'onnxruntime', net, threads: t,
          missing: `no model ${file}` }));
        continue;
      }
      const session = await ort.InferenceSession.create(file, {
        executionProviders: ['cpu'], intraOpNumThreads: t, interOpNumThreads: 1,
        executionMode: 'sequential', graphOptimizationLevel: 'all',
      });
      const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', x, [1, 3, 224, 224]) };
      for (let i = 0; i < args.warmup; i++) await session.run(feeds);
      const times = [];
      for (let i = 0; i < args.reps; i++) {
        const t0 = process.hrtime.bigint();
        await session.run(feeds);
        times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
      console.log(JSON.stringify({ lib: 'onnxruntime', version, net, threads: t,
        ms: +Math.min(...times).toFixed(3), median_ms: +median(times).toFixed(3) }));
      if (session.release) await session.release();
    }
  }
}

main().catch((e) => {
  console.log(JSON.stringify({ lib: 'onnxruntime', missing: `error: ${e.message}` }));
});
