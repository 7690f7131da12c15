#!/usr/bin/env node
// Runs a batch of ONNX models in ONNX Runtime, the independent judge of our exports.
//
//   node ort_run.js jobs.json results.json
//
// jobs.json:    [{ "model": path, "inputs": {name: npyPath}, "outDir": dir,
//                  "opt": "all" | "disabled" }, ...]
// results.json: [{ model, ok, error, outputs: [{name, file, dims, type}] }, ...]
//
// One process runs the whole batch (node + ORT startup per model would dominate).
// A job's failure is recorded and the batch goes on. Each finished job is also
// appended to `<results.json>.progress` (one JSON object per line) so that a
// caller can resume after a native crash or a hang inside ORT; the file is
// removed once results.json is written.
'use strict';

const fs = require('fs');
const path = require('path');

const repo = path.resolve(__dirname, '..', '..');
const ortDir = process.env.AMCT_ORT_DIR ||
  path.join(repo, 'third_party', 'ort', 'node_modules', 'onnxruntime-node');
const ort = require(ortDir);

// ---------------------------------------------------------------------------
// .npy reading and writing (format versions 1.0, 2.0 and 3.0; C order only).

// numpy dtype code (without byte-order char) <-> ORT tensor type and typed array.
const DTYPES = {
  f4: { type: 'float32', array: Float32Array },
  f8: { type: 'float64', array: Float64Array },
  f2: { type: 'float16', array: Uint16Array }, // raw IEEE half bits
  i1: { type: 'int8', array: Int8Array },
  u1: { type: 'uint8', array: Uint8Array },
  i2: { type: 'int16', array: Int16Array },
  u2: { type: 'uint16', array: Uint16Array },
  i4: { type: 'int32', array: Int32Array },
  u4: { type: 'uint32', array: Uint32Array },
  i8: { type: 'int64', array: BigInt64Array },
  u8: { type: 'uint64', array: BigUint64Array },
  b1: { type: 'bool', array: Uint8Array },
};
const CODE_OF_TYPE = Object.fromEntries(Object.entries(DTYPES).map(([c, d]) => [d.type, c]));
const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // "\x93NUMPY"

function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.length < 10 || !buf.subarray(0, 6).equals(MAGIC)) throw new Error(`${file}: not a .npy file`);
  const major = buf[6];
  let headerLen, headerStart;
  if (major === 1) { headerLen = buf.readUInt16LE(8); headerStart = 10; }
  else if (major === 2 || major === 3) { headerLen = buf.readUInt32LE(8); headerStart = 12; }
  else throw new Error(`${file}: unsupported .npy version ${major}.${buf[7]}`);
  const header = buf.toString(major === 3 ? 'utf8' : 'latin1', headerStart, headerStart + headerLen);

  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header);
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shape) throw new Error(`${file}: malformed .npy header: ${header.trim()}`);
  if (fortran[1] === 'True') throw new Error(`${file}: fortran_order arrays are unsupported (save C-order)`);

  const order = descr[1][0];
  const code = descr[1].slice(1);
  if (/^[USO]/.test(code)) throw new Error('string tensors unsupported');
  if (order === '>') throw new Error(`${file}: big-endian dtype ${descr[1]} unsupported`);
  const dt = DTYPES[code];
  if (!dt || !'<|='.includes(order)) throw new Error(`${file}: unsupported dtype ${descr[1]}`);

  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s.length).map(Number);
  const count = dims.reduce((a, b) => a * b, 1);
  const start = headerStart + headerLen;
  const bytes = count * dt.array.BYTES_PER_ELEMENT;
  if (buf.length < start + bytes) throw new Error(`${file}: truncated data`);
  // Copy into a fresh buffer: the data offset need not be aligned for the typed array.
  const data = new dt.array(buf.buffer.slice(buf.byteOffset + start, buf.byteOffset + start + bytes));
  return new ort.Tensor(dt.type, data, dims);
}

function writeNpy(file, tensor) {
  if (tensor.type === 'string') throw new Error('string tensors unsupported');
  const code = CODE_OF_TYPE[tensor.type];
  if (!code) throw new Error(`output type ${tensor.type} unsupported`);
  const order = code.endsWith('1') ? '|' : '<';
  const shape = tensor.dims.length === 1 ? `(${tensor.dims[0]},)` : `(${tensor.dims.join(', ')})`;
  let header = `{'descr': '${order}${code}', 'fortran_order': False, 'shape': ${shape}, }`;
  // Pad with spaces so magic + version + length + header + '\n' is a multiple of 64,
  // as numpy does (keeps the data aligned for memory-mapping readers).
  const pad = (n) => (64 - ((n + header.length + 1) % 64)) % 64;
  const v1 = header.length + 1 + pad(10) <= 0xffff; // v1 stores the header length in 16 bits
  const prefix = v1 ? 10 : 12;
  header += ' '.repeat(pad(prefix)) + '\n';
  const head = Buffer.alloc(prefix);
  MAGIC.copy(head);
  head[6] = v1 ? 1 : 2;
  head[7] = 0;
  if (v1) head.writeUInt16LE(header.length, 8); else head.writeUInt32LE(header.length, 8);

  const d = tensor.data;
  // float16 may come back as Float16Array where the runtime has one; store its raw bits.
  const raw = Buffer.from(d.buffer, d.byteOffset, d.byteLength);
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(header, 'latin1'), raw]));
}

// ---------------------------------------------------------------------------

const sanitize = (name) => name.replace(/[^A-Za-z0-9_.-]/g, '_');

async function runJob(job) {
  const session = await ort.InferenceSession.create(job.model, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: job.opt || 'all',
    executionProviders: ['cpu'],
  });
  try {
    const feeds = {};
    for (const [name, npy] of Object.entries(job.inputs || {})) feeds[name] = readNpy(npy);
    const results = await session.run(feeds);
    fs.mkdirSync(job.outDir, { recursive: true });
    const outputs = [];
    session.outputNames.forEach((name, i) => {
      const t = results[name];
      const file = path.join(job.outDir, `${sanitize(name)}_${i}.npy`);
      writeNpy(file, t);
      outputs.push({ name, file, dims: Array.from(t.dims), type: t.type });
    });
    return outputs;
  } finally {
    await session.release();
  }
}

async function main() {
  const [jobsFile, resultsFile] = process.argv.slice(2);
  if (!jobsFile || !resultsFile) {
    console.error('usage: node ort_run.js jobs.json results.json');
    process.exit(2);
  }
  const jobs = JSON.parse(fs.readFileSync(jobsFile, 'utf8'));
  const progressFile = `${resultsFile}.progress`;
  fs.writeFileSync(progressFile, '');
  const results = [];
  for (const job of jobs) {
    let r;
    try {
      r = { model: job.model, ok: true, error: null, outputs: await runJob(job) };
    } catch (e) {
      const msg = String((e && e.message) || e).split('\n')[0];
      r = { model: job.model, ok: false, error: msg, outputs: [] };
    }
    results.push(r);
    fs.appendFileSync(progressFile, JSON.stringify(r) + '\n');
  }
  fs.writeFileSync(resultsFile, JSON.stringify(results, null, 1));
  fs.unlinkSync(progressFile);
  const ok = results.filter((r) => r.ok).length;
  console.error(`ort_run: ${ok} ok, ${results.length - ok} failed of ${results.length} (onnxruntime-node ${ort.env.versions.node})`);
}

main().catch((e) => {
  console.error(`ort_run: ${e.stack || e}`);
  process.exit(1);
});
