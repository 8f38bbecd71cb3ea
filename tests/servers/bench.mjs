#!/usr/bin/env node
// Throughput check for the test server: streams N generated Patients (historical meta spread over
// 2015..2024) into POST /fhir/$admin/load, then pages GET /fhir/Patient with _count=1000,
// _sort=_lastUpdated and a _lastUpdated window (following next links), and reports res/s.
//   node tests/servers/bench.mjs [--count 100000] [--url http://127.0.0.1:PORT/fhir]
// Without --url it starts fhir-server.mjs itself on an ephemeral port and stops it afterwards.

import { spawn } from 'node:child_process';
import http from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const COUNT = Number(opt('--count', '100000'));
let base = opt('--url');
let child;

async function startServer() {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'fhir-server.mjs');
  child = spawn(process.execPath, ['--max-old-space-size=8192', script, '--port', '0', '--host', '127.0.0.1', '--name', 'bench'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d;
      const m = /LISTENING (\d+)/.exec(buf);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
  return `http://127.0.0.1:${port}/fhir`;
}

const START = Date.UTC(2015, 0, 1);
const SPAN = Date.UTC(2025, 0, 1) - START;

function post(url, bodyGen) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: { 'Content-Type': 'application/fhir+ndjson' } }, (res) => {
      let data = '';
      res.on('data', (d) => (data += d));
      res.on('end', () => resolve({ status: res.statusCode, body: data }));
    });
    req.on('error', reject);
    (async () => {
      for (const chunk of bodyGen()) {
        if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
      }
      req.end();
    })().catch(reject);
  });
}

function* ndjson(n) {
  let lines = [];
  for (let i = 0; i < n; i++) {
    // Pseudo-random but deterministic order of lastUpdated, so the index has to sort.
    const t = START + Math.floor(((i * 2654435761) % 4294967296) / 4294967296 * SPAN);
    lines.push(
      JSON.stringify({
        resourceType: 'Patient',
        id: `b${i}`,
        meta: { versionId: '1', lastUpdated: new Date(t).toISOString() },
        gender: i % 2 ? 'male' : 'female',
        name: [{ family: `Fam${i % 1000}`, given: [`G${i}`] }],
        birthDate: '1970-01-01',
      })
    );
    if (lines.length === 1000) {
      yield lines.join('\n') + '\n';
      lines = [];
    }
  }
  if (lines.length) yield lines.join('\n') + '\n';
}

function get(url) {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        const chunks = [];
        res.on('data', (d) => chunks.push(d));
        res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
      })
      .on('error', reject);
  });
}

try {
  if (!base) base = await startServer();
  let t = performance.now();
  const load = await post(`${base}/$admin/load`, () => ndjson(COUNT));
  const loadSec = (performance.now() - t) / 1000;
  const loaded = JSON.parse(load.body).loaded;
  console.log(`load: ${loaded} resources in ${loadSec.toFixed(2)} s = ${Math.round(loaded / loadSec)} res/s`);

  // Window: 2017-01-01 <= lastUpdated < 2023-01-01 (about 60% of the data).
  let url = `${base}/Patient?_count=1000&_sort=_lastUpdated&_lastUpdated=ge2017-01-01T00:00:00Z&_lastUpdated=lt2023-01-01T00:00:00Z`;
  t = performance.now();
  let n = 0;
  let pages = 0;
  let total;
  let last = '';
  let ordered = true;
  const ids = new Set();
  while (url) {
    const r = await get(url);
    if (r.status !== 200) throw new Error(`GET ${url} -> ${r.status}`);
    const b = JSON.parse(r.body);
    total = b.total;
    for (const e of b.entry ?? []) {
      const lu = e.resource.meta.lastUpdated;
      if (lu < last) ordered = false;
      last = lu;
      ids.add(e.resource.id);
      n++;
    }
    pages++;
    url = b.link.find((l) => l.relation === 'next')?.url;
  }
  const pageSec = (performance.now() - t) / 1000;
  console.log(
    `paging: ${n} resources (total ${total}, ${ids.size} unique, ordered=${ordered}) in ${pages} pages, ${pageSec.toFixed(2)} s = ${Math.round(n / pageSec)} res/s`
  );
  const st = JSON.parse((await get(`${base}/$admin/stats`)).body);
  console.log(`server RSS: ${Math.round(st.memoryRssBytes / 1048576)} MiB`);
  if (n !== total || ids.size !== total || !ordered) process.exitCode = 1;
} finally {
  child?.kill('SIGTERM');
}
