// Feature tests of the loopback FHIR test server: every fault switch and the finer semantics
// (search bounds, paging, transactions, $export windows/associated data, $import modes).
// Run: node --test tests/servers/   (starts fhir-server.mjs on an ephemeral 127.0.0.1 port)

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import { dirname, join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

const HERE = dirname(fileURLToPath(import.meta.url));
let child;
let base;

function request(method, url, { body, headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const full = url.startsWith('http') ? url : base + url;
    const payload = body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
    const req = http.request(full, { method, headers: { ...(payload ? { 'Content-Type': 'application/fhir+json' } : {}), ...headers } }, (res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => {
        const buf = Buffer.concat(chunks);
        const text = buf.toString('utf8');
        let json;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode, headers: res.headers, buf, text, json });
      });
      res.on('error', (err) => resolve({ error: err, status: res.statusCode, headers: res.headers, buf: Buffer.concat(chunks) }));
    });
    req.on('error', (err) => resolve({ error: err }));
    if (payload) req.write(payload);
    req.end();
  });
}
const get = (url, headers) => request('GET', url, { headers });
const faults = (f) => request('POST', '/$admin/faults', { body: f });
const load = (resources) => request('POST', '/$admin/load', { body: resources.map((r) => JSON.stringify(r)).join('\n') + '\n' });
const ASYNC = { Prefer: 'respond-async' };

async function exportManifest(path, headers = {}) {
  const k = await get(path, { ...ASYNC, ...headers });
  assert.equal(k.status, 202, k.text);
  const url = k.headers['content-location'];
  for (let i = 0; i < 20; i++) {
    const s = await get(url, headers);
    if (s.status === 200) return { url, manifest: s.json };
    assert.equal(s.status, 202, s.text);
  }
  throw new Error('export did not finish');
}
async function ndjsonOf(url, headers) {
  const r = await get(url, headers);
  assert.equal(r.status, 200, r.text);
  return r.text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}
async function exportedIds(manifest, kind = 'output') {
  const ids = [];
  for (const o of manifest[kind]) for (const r of await ndjsonOf(o.url)) ids.push(kind === 'deleted' ? r.entry[0].request.url : `${r.resourceType}/${r.id}`);
  return ids.sort();
}

/** A throwaway loopback file server for $import inputs. */
async function fileServer(files) {
  const srv = http.createServer((req, res) => {
    const body = files[req.url];
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/fhir+ndjson' }).end(body);
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${srv.address().port}`, close: () => new Promise((r) => srv.close(r)) };
}
function importBody(inputs, mode = 'IncrementalLoad') {
  return {
    resourceType: 'Parameters',
    parameter: [
      { name: 'inputFormat', valueString: 'application/fhir+ndjson' },
      { name: 'mode', valueString: mode },
      ...inputs.map(([type, url]) => ({
        name: 'input',
        part: [
          { name: 'type', valueString: type },
          { name: 'url', valueUri: url },
        ],
      })),
    ],
  };
}
async function runImport(body) {
  const k = await request('POST', '/$import', { body, headers: ASYNC });
  assert.equal(k.status, 202, k.text);
  const url = k.headers['content-location'];
  for (let i = 0; i < 100; i++) {
    const s = await get(url);
    if (s.status !== 202) return { url, status: s };
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('import did not finish');
}

const P = (id, lastUpdated, versionId = '1', extra = {}) => ({ resourceType: 'Patient', id, meta: { versionId, lastUpdated }, ...extra });
const O = (id, lastUpdated, patient) => ({
  resourceType: 'Observation',
  id,
  meta: { versionId: '1', lastUpdated },
  status: 'final',
  code: { text: 'x' },
  subject: { reference: `Patient/${patient}` },
});

before(async () => {
  child = spawn(process.execPath, [join(HERE, 'fhir-server.mjs'), '--port', '0', '--host', '127.0.0.1', '--name', 'test'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr.resume();
  const port = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /^LISTENING (\d+)\n/.exec(out);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  base = `http://127.0.0.1:${port}/fhir`;
});
after(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child.on('exit', r));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  }
});
beforeEach(async () => {
  await faults({});
  await request('POST', '/$admin/reset');
});

describe('startup', () => {
  test('refuses a non-loopback host', async () => {
    const c = spawn(process.execPath, [join(HERE, 'fhir-server.mjs'), '--host', '0.0.0.0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const code = await new Promise((r) => c.on('exit', r));
    assert.equal(code, 2);
  });
});

describe('REST basics', () => {
  test('PUT create 201 / update 200, history newest first on every call', async () => {
    const a = await request('PUT', '/Patient/h1', { body: { resourceType: 'Patient', id: 'h1' } });
    assert.equal(a.status, 201);
    assert.match(a.headers.location, /\/fhir\/Patient\/h1\/_history\//);
    for (let i = 0; i < 2; i++) {
      const u = await request('PUT', '/Patient/h1', { body: { resourceType: 'Patient', id: 'h1', birthDate: `200${i}-01-01` } });
      assert.equal(u.status, 200);
    }
    for (let i = 0; i < 3; i++) {
      const h = await get('/Patient/h1/_history');
      assert.deepEqual(
        h.json.entry.map((e) => e.resource.birthDate ?? null),
        ['2001-01-01', '2000-01-01', null]
      );
    }
  });

  test('unknown type and unsupported operation answer 404 OperationOutcome', async () => {
    for (const p of ['/Nope', '/Patient/$everything', '/$reindex']) {
      const r = await get(p);
      assert.equal(r.status, 404);
      assert.equal(r.json.resourceType, 'OperationOutcome');
    }
  });

  test('transaction is atomic across create, update and delete', async () => {
    await load([P('keep', '2020-01-01T00:00:00Z'), P('gone', '2020-01-01T00:00:00Z')]);
    const r = await request('POST', '', {
      body: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { request: { method: 'DELETE', url: 'Patient/gone' } },
          { request: { method: 'POST', url: 'Patient' }, resource: { resourceType: 'Patient' } },
          { request: { method: 'PUT', url: 'Patient/keep' }, resource: { resourceType: 'Patient', id: 'keep', active: true } },
          { request: { method: 'PUT', url: 'Patient/x' }, resource: { resourceType: 'Patient', id: 'y' } },
        ],
      },
    });
    assert.equal(r.status, 400);
    assert.equal((await get('/Patient/gone')).status, 200);
    const keep = await get('/Patient/keep');
    assert.equal(keep.json.active, undefined);
    assert.equal(keep.json.meta.versionId, '1');
    assert.equal((await get('/Patient?_summary=count')).json.total, 2);
    const { manifest } = await exportManifest('/$export');
    assert.equal(manifest.deleted.length, 0, 'undone delete leaves no tombstone');
  });

  test('putReject: batch entry 400, transaction fails whole, direct PUT 400', async () => {
    await faults({ putReject: ['Patient/bad'] });
    const b = await request('POST', '', {
      body: {
        resourceType: 'Bundle',
        type: 'batch',
        entry: [
          { request: { method: 'PUT', url: 'Patient/ok' }, resource: { resourceType: 'Patient', id: 'ok' } },
          { request: { method: 'PUT', url: 'Patient/bad' }, resource: { resourceType: 'Patient', id: 'bad' } },
        ],
      },
    });
    assert.equal(b.status, 200);
    assert.deepEqual(
      b.json.entry.map((e) => e.response.status),
      ['201 Created', '400 Bad Request']
    );
    assert.match(b.json.entry[1].response.outcome.issue[0].diagnostics, /rejected by fault switch/);
    const t = await request('POST', '', {
      body: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { request: { method: 'PUT', url: 'Patient/t1' }, resource: { resourceType: 'Patient', id: 't1' } },
          { request: { method: 'PUT', url: 'Patient/bad' }, resource: { resourceType: 'Patient', id: 'bad' } },
        ],
      },
    });
    assert.equal(t.status, 400);
    assert.equal((await get('/Patient/t1')).status, 404);
    assert.equal((await request('PUT', '/Patient/bad', { body: { resourceType: 'Patient', id: 'bad' } })).status, 400);
  });

  const batchOf = (...ids) => ({
    resourceType: 'Bundle',
    type: 'batch',
    entry: ids.map((id) => ({ request: { method: 'PUT', url: `Patient/${id}` }, resource: { resourceType: 'Patient', id } })),
  });

  test('batch429 / batch503 refuse a whole Bundle, with or without Retry-After', async () => {
    await faults({ batch429: 1, batch503: 1, retryAfterSeconds: 3 });
    const r429 = await request('POST', '', { body: batchOf('q1') });
    assert.equal(r429.status, 429);
    assert.equal(r429.headers['retry-after'], '3');
    assert.equal(r429.json.issue[0].code, 'throttled');
    const r503 = await request('POST', '', { body: batchOf('q1') });
    assert.equal(r503.status, 503);
    assert.equal(r503.headers['retry-after'], '3');
    assert.equal(r503.json.issue[0].code, 'transient');
    assert.equal((await get('/Patient/q1')).status, 404, 'nothing applied');
    await faults({ batch429: 1, batch503: 1, batchWithoutRetryAfter: true });
    for (const status of [429, 503]) {
      const r = await request('POST', '', { body: batchOf('q1') });
      assert.equal(r.status, status);
      assert.equal(r.headers['retry-after'], undefined);
    }
    assert.equal((await request('POST', '', { body: batchOf('q1') })).status, 200);
    assert.equal((await get('/Patient/q1')).status, 200);
  });

  test('holdBatchMs: applied at once, answered late; stats say so', async () => {
    await faults({ holdBatchMs: 400 });
    const pending = request('POST', '', { body: batchOf('h1', 'h2') });
    let st;
    for (let i = 0; i < 100; i++) {
      st = (await get('/$admin/stats')).json;
      if (st.batchesHeld > 0) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(st.batchesHeld, 1);
    assert.equal(st.batchesHeldTotal, 1);
    assert.deepEqual(st.lastHeldBundle, ['Patient/h1', 'Patient/h2']);
    assert.equal((await get('/Patient/h1')).status, 200, 'applied before the answer');
    const answered = await pending;
    assert.equal(answered.status, 200);
    assert.equal((await get('/$admin/stats')).json.batchesHeld, 0);
  });

  test('$admin/versions counts every version the server stored, like _history', async () => {
    await request('PUT', '/Patient/v1', { body: { resourceType: 'Patient', id: 'v1' } });
    await request('PUT', '/Patient/v1', { body: { resourceType: 'Patient', id: 'v1' } }); // identical: a version all the same
    await request('POST', '', { body: batchOf('v1', 'v2') });
    await load([P('v3', '2020-01-01T00:00:00Z')]);
    const { versions } = (await get('/$admin/versions')).json;
    assert.deepEqual(versions, { 'Patient/v1': 3, 'Patient/v2': 1, 'Patient/v3': 1 });
    for (const [key, n] of Object.entries(versions)) assert.equal((await get(`/${key}/_history`)).json.total, n, key);
  });
});

describe('search', () => {
  beforeEach(async () => {
    await load([
      P('a', '2020-01-01T00:00:00.000Z'),
      P('c', '2020-06-01T00:00:00.000Z'),
      P('b', '2020-06-01T00:00:00.000Z'),
      P('d', '2021-01-01T00:00:00.000Z'),
      O('o1', '2020-03-01T00:00:00.000Z', 'a'),
    ]);
  });
  const ids = (r) => (r.json.entry ?? []).map((e) => e.resource.id).join(',');

  test('_lastUpdated prefixes and precision', async () => {
    assert.equal(ids(await get('/Patient?_lastUpdated=2020')), 'a,b,c');
    assert.equal(ids(await get('/Patient?_lastUpdated=ge2020-06-01&_lastUpdated=lt2021')), 'b,c');
    assert.equal(ids(await get('/Patient?_lastUpdated=gt2020-06-01T00:00:00.000Z')), 'd');
    assert.equal(ids(await get('/Patient?_lastUpdated=le2020-06-01T00:00:00.000Z')), 'a,b,c');
    assert.equal(ids(await get('/Patient?_lastUpdated=lt2020-06-01T00:00:00Z')), 'a');
    assert.equal(ids(await get('/Patient?_lastUpdated=ne2020-06')), 'a,d');
    assert.equal(ids(await get('/Patient?_lastUpdated=ge2020-06-01T02:00:00%2B02:00&_lastUpdated=le2020-06-01T00:00:00Z')), 'b,c');
    assert.equal((await get('/Patient?_lastUpdated=junk')).status, 400);
  });

  test('sort ties broken by id, descending mirrors ascending, _id, _summary=count', async () => {
    assert.equal(ids(await get('/Patient?_sort=_lastUpdated')), 'a,b,c,d');
    assert.equal(ids(await get('/Patient?_sort=-_lastUpdated')), 'd,c,b,a');
    assert.equal(ids(await get('/Patient?_id=d,a,zz')), 'a,d');
    const c = await get('/Patient?_summary=count&_lastUpdated=ge2020-06');
    assert.equal(c.json.total, 3);
    assert.equal(c.json.entry, undefined);
  });

  test('paging with links covers everything once; _count capped at 1000', async () => {
    let url = '/Patient?_count=1&_sort=_lastUpdated';
    const seen = [];
    let pages = 0;
    while (url) {
      const r = await get(url);
      assert.equal(r.json.total, 4);
      seen.push(...r.json.entry.map((e) => e.resource.id));
      if (pages > 0) assert.ok(r.json.link.some((l) => l.relation === 'previous'));
      url = r.json.link.find((l) => l.relation === 'next')?.url;
      pages++;
    }
    assert.deepEqual(seen, ['a', 'b', 'c', 'd']);
    const big = await get('/Patient?_count=5000');
    assert.match(big.json.link[0].url, /_count=1000/);
    assert.equal((await get('/Patient?_count=2&_offset=3')).json.entry.length, 1);
  });

  test('system search: newest across types, _type filter, count with window', async () => {
    assert.equal(ids(await get('?_sort=-_lastUpdated&_count=1')), 'd');
    assert.equal(ids(await get('?_sort=_lastUpdated&_count=2')), 'a,o1');
    assert.equal((await get('?_summary=count&_lastUpdated=lt2020-06')).json.total, 2);
    assert.equal(ids(await get('?_type=Observation')), 'o1');
    assert.equal((await get('?_type=Observation,Patient&_summary=count')).json.total, 5);
  });

  test('other parameters go to the matcher', async () => {
    assert.equal(ids(await get('/Observation?subject=Patient/a')), 'o1');
    assert.equal(ids(await get('/Observation?subject=Patient/b')), '');
    assert.equal((await get('/Observation?nope=1')).status, 400);
    const post = await request('POST', '/Patient/_search', {
      body: '_id=a,b&_count=1',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(post.json.total, 2);
  });

  test('search fault switches', async () => {
    await faults({ search429: 1, searchPage500: 1, badJsonSearchPage: 1 });
    const r1 = await get('/Patient');
    assert.equal(r1.status, 429);
    assert.equal(r1.headers['retry-after'], '1');
    assert.equal((await get('/Patient')).status, 500);
    const bad = await get('/Patient');
    assert.equal(bad.status, 200);
    assert.equal(bad.json, undefined);
    assert.equal((await get('/Patient')).json.total, 4);
    await faults({ searchDelayMs: 300 });
    const t0 = Date.now();
    assert.equal((await get('/Patient')).json.total, 4);
    assert.ok(Date.now() - t0 >= 290, 'the page came late');
    await faults({});
  });

  test('bearerToken guards everything but $admin', async () => {
    await faults({ bearerToken: 't0k' });
    assert.equal((await get('/metadata')).status, 401);
    assert.equal((await get('/Patient', { Authorization: 'Bearer t0k' })).status, 200);
    assert.equal((await get('/$admin/stats')).status, 200);
  });
});

describe('$export', () => {
  beforeEach(async () => {
    await load([
      P('p1', '2020-01-01T00:00:00.000Z'),
      P('p2', '2020-06-01T00:00:00.000Z'),
      P('p3', '2021-01-01T00:00:00.000Z'),
      O('o1', '2020-03-01T00:00:00.000Z', 'p1'),
      O('o2', '2021-03-01T00:00:00.000Z', 'p3'),
      { resourceType: 'Group', id: 'g', meta: { versionId: '1', lastUpdated: '2020-01-01T00:00:00Z' }, type: 'person', actual: true, member: [{ entity: { reference: 'Patient/p3' } }] },
    ]);
  });

  test('_since ge, _till/_until lt by default, le with upperBoundInclusive, ignoreUpperBound', async () => {
    let m = (await exportManifest('/$export?_since=2020-06-01T00:00:00Z&_till=2021-01-01T00:00:00Z')).manifest;
    assert.deepEqual(await exportedIds(m), ['Patient/p2']);
    m = (await exportManifest('/$export?_until=2021-01-01T00:00:00Z&_type=Patient')).manifest;
    assert.deepEqual(await exportedIds(m), ['Patient/p1', 'Patient/p2']);
    await faults({ upperBoundInclusive: true });
    m = (await exportManifest('/$export?_until=2021-01-01T00:00:00Z&_type=Patient')).manifest;
    assert.deepEqual(await exportedIds(m), ['Patient/p1', 'Patient/p2', 'Patient/p3']);
    await faults({ ignoreUpperBound: true });
    m = (await exportManifest('/$export?_till=2020-01-02&_type=Observation')).manifest;
    assert.deepEqual(await exportedIds(m), ['Observation/o1', 'Observation/o2']);
  });

  test('snapshot at kick-off; transactionTime bounds the next _since', async () => {
    const k = await get('/$export?_type=Patient', ASYNC);
    await request('PUT', '/Patient/late', { body: { resourceType: 'Patient', id: 'late' } });
    let s;
    do s = await get(k.headers['content-location']);
    while (s.status === 202);
    assert.deepEqual(await exportedIds(s.json), ['Patient/p1', 'Patient/p2', 'Patient/p3']);
    assert.equal(s.json.request, `${base}/$export?_type=Patient`);
    const next = (await exportManifest(`/$export?_type=Patient&_since=${encodeURIComponent(s.json.transactionTime)}`)).manifest;
    assert.deepEqual(await exportedIds(next), ['Patient/late']);
  });

  test('files split by maxLinesPerFile; Range 206/416; gzip', async () => {
    await faults({ maxLinesPerFile: 2 });
    const { manifest } = await exportManifest('/$export?_type=Patient');
    assert.deepEqual(
      manifest.output.map((o) => o.count),
      [2, 1]
    );
    const url = manifest.output[0].url;
    const full = await get(url);
    assert.equal(full.headers['content-type'], 'application/fhir+ndjson');
    const part = await get(url, { Range: 'bytes=5-' });
    assert.equal(part.status, 206);
    assert.equal(part.text, full.text.slice(5));
    assert.equal((await get(url, { Range: 'bytes=99999-' })).status, 416);
    const gz = await get(url, { 'Accept-Encoding': 'gzip' });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.equal(gunzipSync(gz.buf).toString(), full.text);
  });

  test('deleted[] and includeAssociatedData=_history,_deleted', async () => {
    await request('PUT', '/Patient/p1', { body: { resourceType: 'Patient', id: 'p1', active: true } });
    await request('DELETE', '/Patient/p2');
    let m = (await exportManifest('/$export?_type=Patient')).manifest;
    assert.deepEqual(await exportedIds(m), ['Patient/p1', 'Patient/p3']);
    assert.deepEqual(await exportedIds(m, 'deleted'), ['Patient/p2']);
    const del = await ndjsonOf(m.deleted[0].url);
    assert.equal(del[0].resourceType, 'Bundle');
    assert.equal(del[0].type, 'transaction');
    assert.equal(del[0].entry[0].request.method, 'DELETE');
    m = (await exportManifest('/$export?_type=Patient&includeAssociatedData=_history,_deleted')).manifest;
    const all = [];
    for (const o of m.output) all.push(...(await ndjsonOf(o.url)));
    const p1 = all.filter((r) => r.id === 'p1');
    assert.equal(p1.length, 2, 'both versions of p1');
    assert.deepEqual(
      all.filter((r) => r.id === 'p2'),
      [],
      'p2 is in deleted[]: none of its versions is in output[]'
    );
    assert.deepEqual(await exportedIds(m, 'deleted'), ['Patient/p2']);
    // deleted window: a _since after the delete excludes it
    m = (await exportManifest(`/$export?_type=Patient&_since=${encodeURIComponent(new Date(Date.now() + 60000).toISOString())}`)).manifest;
    assert.equal(m.deleted.length, 0);
  });

  test('deletedInOutputOnly; a deletion of a re-created resource is one of its versions', async () => {
    await request('DELETE', '/Patient/p1');
    await request('PUT', '/Patient/p1', { body: { resourceType: 'Patient', id: 'p1', active: false } });
    await request('DELETE', '/Patient/p2');
    const soft = (r) => r.meta.extension?.some((e) => e.valueString === 'soft-deleted') ?? false;
    const exported = async (query) => {
      const { manifest } = await exportManifest(`/$export?_type=Patient&${query}`);
      const all = [];
      for (const o of manifest.output) all.push(...(await ndjsonOf(o.url)));
      return { manifest, all };
    };
    let { manifest, all } = await exported('includeAssociatedData=_history,_deleted');
    assert.deepEqual(all.filter((r) => r.id === 'p1').map(soft), [false, true, false]);
    assert.deepEqual(await exportedIds(manifest, 'deleted'), ['Patient/p2']);
    ({ all } = await exported('includeAssociatedData=_deleted'));
    assert.deepEqual(all.filter((r) => r.id === 'p1').map(soft), [false], 'current state only');
    await faults({ deletedInOutputOnly: true });
    ({ manifest, all } = await exported('includeAssociatedData=_deleted'));
    assert.equal(manifest.deleted.length, 0);
    assert.deepEqual(all.filter((r) => r.id === 'p2').map(soft), [true]);
  });

  test('a resource in deleted[] is never in output[], whatever includeAssociatedData says', async () => {
    await request('DELETE', '/Patient/p1');
    await request('PUT', '/Patient/p1', { body: { resourceType: 'Patient', id: 'p1', active: false } }); // created again
    await request('DELETE', '/Patient/p2');
    await request('DELETE', '/Observation/o1');
    for (const assoc of ['', '&includeAssociatedData=_deleted', '&includeAssociatedData=_history', '&includeAssociatedData=_history,_deleted']) {
      const { manifest } = await exportManifest(`/$export?_type=Patient,Observation${assoc}`);
      const deleted = await exportedIds(manifest, 'deleted');
      assert.deepEqual(deleted, ['Observation/o1', 'Patient/p2'], assoc);
      const output = new Set(await exportedIds(manifest));
      for (const key of deleted) assert.ok(!output.has(key), `${key} in both deleted[] and output[] (${assoc})`);
      assert.ok(output.has('Patient/p1'), `the re-created p1 stays in output[] (${assoc})`);
    }
  });

  test('historyNewestFirst lists each type\'s versions newest first', async () => {
    await request('PUT', '/Patient/p1', { body: { resourceType: 'Patient', id: 'p1', active: true } });
    const times = async () => {
      const { manifest } = await exportManifest('/$export?_type=Patient&includeAssociatedData=_history');
      return (await ndjsonOf(manifest.output[0].url)).map((r) => Date.parse(r.meta.lastUpdated));
    };
    const oldest = await times();
    assert.deepEqual(oldest, [...oldest].sort((a, b) => a - b));
    await faults({ historyNewestFirst: true });
    const newest = await times();
    assert.deepEqual(newest, [...oldest].reverse());
  });

  test('Patient and Group level; POST Parameters kick-off; _typeFilter', async () => {
    await load([O('stray', '2020-01-01T00:00:00Z', 'nobody')]);
    let m = (await exportManifest('/Patient/$export')).manifest;
    assert.deepEqual(await exportedIds(m), ['Observation/o1', 'Observation/o2', 'Patient/p1', 'Patient/p2', 'Patient/p3']);
    m = (await exportManifest('/Group/g/$export')).manifest;
    assert.deepEqual(await exportedIds(m), ['Observation/o2', 'Patient/p3']);
    assert.equal((await get('/Group/nope/$export', ASYNC)).status, 404);
    const k = await request('POST', '/$export', {
      headers: ASYNC,
      body: {
        resourceType: 'Parameters',
        parameter: [
          { name: '_type', valueString: 'Observation' },
          { name: '_typeFilter', valueString: 'Observation?status=final' },
          { name: '_since', valueInstant: '2021-01-01T00:00:00Z' },
        ],
      },
    });
    assert.equal(k.status, 202);
    let s;
    do s = await get(k.headers['content-location']);
    while (s.status === 202);
    assert.equal(s.json.request, `${base}/$export`);
    assert.deepEqual(await exportedIds(s.json), ['Observation/o2']);
    assert.deepEqual(s.json.error, [], '_typeFilter is supported: no warning');
  });

  test('_typeFilter narrows its type only; several filters of a type are ORed; bad ones 400', async () => {
    await load([
      { ...O('o3', '2020-04-01T00:00:00.000Z', 'p1'), status: 'amended' },
      { ...O('o4', '2020-05-01T00:00:00.000Z', 'p2'), status: 'preliminary' },
    ]);
    let m = (await exportManifest(`/$export?_typeFilter=${encodeURIComponent('Observation?status=final')}`)).manifest;
    assert.deepEqual(await exportedIds(m), ['Group/g', 'Observation/o1', 'Observation/o2', 'Patient/p1', 'Patient/p2', 'Patient/p3']);
    m = (
      await exportManifest(
        `/$export?_type=Observation&_typeFilter=${encodeURIComponent('Observation?status=amended')}&_typeFilter=${encodeURIComponent('Observation?status=preliminary')}`
      )
    ).manifest;
    assert.deepEqual(await exportedIds(m), ['Observation/o3', 'Observation/o4']);
    m = (await exportManifest(`/$export?_type=Observation,Patient&_typeFilter=${encodeURIComponent('Observation?subject=Patient/p1,Patient?_id=p3')}`)).manifest;
    assert.deepEqual(await exportedIds(m), ['Observation/o1', 'Observation/o3', 'Patient/p3']);
    assert.equal((await get(`/$export?_typeFilter=${encodeURIComponent('Observation?nope=1')}`, ASYNC)).status, 400);
    assert.equal((await get(`/$export?_typeFilter=${encodeURIComponent('Nope?status=final')}`, ASYNC)).status, 400);
    assert.equal((await get('/$export?_typeFilter=Observation', ASYNC)).status, 400);
    const lenient = await exportManifest(`/$export?_typeFilter=${encodeURIComponent('Observation?nope=1')}`, { Prefer: 'respond-async, handling=lenient' });
    assert.equal(lenient.manifest.output.find((o) => o.type === 'Observation').count, 4);
  });

  test('every kick-off is recorded in stats.kickoffs', async () => {
    await get('/Patient/$export?_since=2020-01-01T00:00:00Z&_type=Patient,Observation&_isParallel=true', ASYNC);
    await get('/Group/g/$export?includeAssociatedData=_history,_deleted', ASYNC);
    const body = {
      resourceType: 'Parameters',
      parameter: [
        { name: '_since', valueInstant: '2020-01-01T00:00:00Z' },
        { name: '_till', valueInstant: '2021-01-01T00:00:00Z' },
        { name: '_type', valueString: 'Patient' },
      ],
    };
    await request('POST', '/$export', { headers: ASYNC, body });
    await get('/$export?_bogus=1', ASYNC); // refused, still recorded
    const k = (await get('/$admin/stats')).json.kickoffs;
    assert.equal(k.length, 4);
    assert.deepEqual(k[0], {
      method: 'GET',
      path: '/fhir/Patient/$export',
      level: 'patient',
      query: [
        ['_since', '2020-01-01T00:00:00Z'],
        ['_type', 'Patient,Observation'],
        ['_isParallel', 'true'],
      ],
      body: null,
      params: { _since: ['2020-01-01T00:00:00Z'], _type: ['Patient', 'Observation'], _isParallel: ['true'] },
    });
    assert.equal(k[1].level, 'group');
    assert.equal(k[1].groupId, 'g');
    assert.deepEqual(k[1].params.includeAssociatedData, ['_history', '_deleted']);
    assert.equal(k[2].method, 'POST');
    assert.deepEqual(k[2].body, body);
    assert.deepEqual(k[2].params._till, ['2021-01-01T00:00:00Z']);
    assert.deepEqual(k[3].params, { _bogus: ['1'] });
    await request('POST', '/$admin/reset');
    assert.deepEqual((await get('/$admin/stats')).json.kickoffs, []);
  });

  test('offOriginStatus, offOriginFiles, redirectFiles with presigned URLs, downloadDelayMs', async () => {
    const other = 'http://127.0.0.1:9';
    await faults({ offOriginStatus: other });
    const k = await get('/$export?_type=Patient', ASYNC);
    assert.match(k.headers['content-location'], /^http:\/\/127\.0\.0\.1:9\/fhir\/\$export-status\//);
    const moved = k.headers['content-location'].replace(other, base.replace(/\/fhir$/, ''));
    await faults({ offOriginFiles: other, bearerToken: 't0k' });
    const auth = { Authorization: 'Bearer t0k' };
    let s;
    do s = await get(moved, auth);
    while (s.status === 202);
    assert.equal(s.json.requiresAccessToken, true);
    assert.ok(s.json.output.every((o) => o.url.startsWith(`${other}/fhir/$export-file/`)));
    const local = s.json.output[0].url.replace(other, base.replace(/\/fhir$/, ''));
    const full = await get(local, auth);
    assert.equal(full.status, 200);

    await faults({ redirectFiles: other, bearerToken: 't0k', downloadDelayMs: 150 });
    const r = await get(local, auth);
    assert.equal(r.status, 302);
    const loc = new URL(r.headers.location);
    assert.equal(loc.origin, other);
    assert.match(loc.searchParams.get('sig'), /^[0-9a-f]{64}$/);
    const signed = local + loc.search;
    const t0 = Date.now();
    const viaSig = await get(signed); // no token: the signature is the credential
    assert.equal(viaSig.status, 200);
    assert.equal(viaSig.text, full.text);
    assert.ok(Date.now() - t0 >= 140, 'downloadDelayMs');
    const forged = local + '?sig=' + '0'.repeat(64);
    assert.equal((await get(forged)).status, 401);
    const otherFile = s.json.output[0].url.replace(other, base.replace(/\/fhir$/, '')).replace(/Patient-1/, 'Patient-2');
    assert.equal((await get(otherFile + loc.search)).status, 401, 'a signature is bound to its file');
  });

  test('hmacTokens: only unexpired tokens minted with the secret; rejections recorded', async () => {
    const { createHmac } = await import('node:crypto');
    const mint = (secret, exp, nonce) => `Bearer ${exp}.${nonce}.${createHmac('sha256', secret).update(`${exp}.${nonce}`).digest('hex')}`;
    await faults({ hmacTokens: 's3cret' });
    const good = mint('s3cret', Date.now() + 60_000, 'n1');
    assert.equal((await get('/Patient', { Authorization: good })).status, 200);
    assert.equal((await get('/Patient', { Authorization: mint('s3cret', Date.now() - 1, 'n2') })).status, 401);
    assert.equal((await get('/Patient', { Authorization: mint('other', Date.now() + 60_000, 'n3') })).status, 401);
    assert.equal((await get('/Patient')).status, 401);
    const { manifest } = await exportManifest('/$export?_type=Patient', { Authorization: good });
    assert.equal(manifest.requiresAccessToken, true);
    assert.equal((await get(manifest.output[0].url)).status, 401);
    const rej = (await get('/$admin/stats')).json.tokenRejections;
    assert.deepEqual(
      rej.map((x) => [x.reason, x.nonce]),
      [
        ['expired', 'n2'],
        ['invalid', 'n3'],
        ['missing', undefined],
        ['missing', undefined],
      ]
    );
    assert.equal(rej[3].path.startsWith('/fhir/$export-file/'), true);
  });

  test('kick-off validation', async () => {
    assert.equal((await get('/$export')).status, 400, 'no Prefer');
    assert.equal((await get('/$export?_since=yesterday', ASYNC)).status, 400);
    assert.equal((await get('/$export?_outputFormat=text/csv', ASYNC)).status, 400);
    assert.equal((await get('/$export?_type=Nope', ASYNC)).status, 400);
    assert.equal((await get('/$export?_type=Nope', { Prefer: 'respond-async, handling=lenient' })).status, 202);
  });

  test('status faults: 429, transient 500, slow polls, retryAfterSeconds; DELETE', async () => {
    await faults({ exportStatus429: 1, exportTransient500: 1, slowExportPolls: 3, retryAfterSeconds: 7 });
    const k = await get('/$export', ASYNC);
    const url = k.headers['content-location'];
    const r1 = await get(url);
    assert.equal(r1.status, 429);
    assert.equal(r1.headers['retry-after'], '7');
    const r2 = await get(url);
    assert.equal(r2.status, 500);
    assert.equal(r2.json.issue[0].code, 'transient');
    for (let i = 1; i <= 3; i++) {
      const r = await get(url);
      assert.equal(r.status, 202);
      assert.ok(r.headers['x-progress']);
    }
    assert.equal((await get(url)).status, 200);
    assert.equal((await request('DELETE', url)).status, 202);
    assert.equal((await get(url)).status, 404);
  });

  test('download faults: 429, truncated file, expired URLs', async () => {
    const { url: statusUrl, manifest } = await exportManifest('/$export?_type=Patient');
    const fileUrl = manifest.output[0].url;
    const full = await get(fileUrl);
    await faults({ download429: 1, truncateFile: 1 });
    const r429 = await get(fileUrl);
    assert.equal(r429.status, 429);
    assert.equal(r429.headers['retry-after'], '1');
    const cut = await get(fileUrl);
    assert.ok(cut.error, 'truncated download must fail on the client');
    assert.equal(Number(cut.headers['content-length']), full.buf.length);
    assert.ok(cut.buf.length < full.buf.length);
    assert.equal((await get(fileUrl)).status, 200);

    await faults({ shortFile: 1 });
    const short = await get(fileUrl);
    assert.equal(short.status, 200);
    const lines = full.text.split('\n').filter(Boolean);
    assert.equal(short.text, lines.slice(0, -1).map((l) => l + '\n').join(''));
    assert.equal((await get(fileUrl)).text, full.text, 'one download only');

    await faults({ expireFiles: true });
    assert.equal((await get(fileUrl)).status, 410);
    assert.equal((await get(fileUrl)).status, 410, 'stays expired until the manifest is re-read');
    const fresh = (await get(statusUrl)).json.output[0].url;
    assert.notEqual(fresh, fileUrl);
    assert.equal((await get(fresh)).text, full.text);
    assert.equal((await get(fileUrl)).status, 410);
  });

  test('kick-off faults: 429 already running, 503 transient, 500 and 400 for good', async () => {
    await faults({ kickoff429: 1, kickoff503: 1, kickoff500: 1, kickoff400: 1, retryAfterSeconds: 4 });
    const r429 = await get('/$export', ASYNC);
    assert.equal(r429.status, 429);
    assert.equal(r429.headers['retry-after'], '4');
    assert.match(r429.json.issue[0].diagnostics, /already running/);
    const r503 = await get('/$export', ASYNC);
    assert.equal(r503.status, 503);
    assert.equal(r503.json.issue[0].code, 'transient');
    assert.equal(r503.headers['retry-after'], '4');
    const r500 = await get('/$export', ASYNC);
    assert.equal(r500.status, 500);
    assert.equal(r500.json.issue[0].code, 'processing');
    assert.equal(r500.headers['retry-after'], undefined);
    const r400 = await get('/$export', ASYNC);
    assert.equal(r400.status, 400);
    assert.equal(r400.json.issue[0].code, 'not-supported');
    assert.equal((await get('/$export', ASYNC)).status, 202, 'the switches are used up');
    assert.equal((await get('/$admin/stats')).json.exportKickoffs, 5);
  });

  test('exportJobFails: a failed job answers 500 with a non-transient OperationOutcome on every poll', async () => {
    await faults({ exportJobFails: 1, exportPolls: 1 });
    const k = await get('/$export?_type=Patient', ASYNC);
    const url = k.headers['content-location'];
    assert.equal((await get(url)).status, 202);
    for (let i = 0; i < 2; i++) {
      const r = await get(url);
      assert.equal(r.status, 500);
      assert.equal(r.json.issue[0].severity, 'error');
      assert.equal(r.json.issue[0].code, 'processing');
      assert.match(r.json.issue[0].diagnostics, /failed/);
    }
    assert.equal((await get('/$admin/stats')).json.failedJobPolls, 2);
    assert.equal((await exportManifest('/$export?_type=Patient')).manifest.output.length, 1, 'only the next job fails');
  });

  test('purgeExportJobs: the status URL answers 404 in the middle of polling', async () => {
    await faults({ purgeExportJobs: 1, slowExportPolls: 3 });
    const url = (await get('/$export?_type=Patient', ASYNC)).headers['content-location'];
    assert.equal((await get(url)).status, 202);
    const gone = await get(url);
    assert.equal(gone.status, 404);
    assert.equal(gone.json.resourceType, 'OperationOutcome');
    assert.equal((await get(url)).status, 404);
    await faults({});
    assert.equal((await exportManifest('/$export?_type=Patient')).manifest.output[0].count, 3, 'the next job is kept');
  });

  test('exportErrors: error OperationOutcomes in error[] next to good files, the resource left out', async () => {
    await faults({ exportErrors: ['Patient/p2', 'Observation/o2'] });
    const { manifest } = await exportManifest('/$export?_type=Patient,Observation&_elements=id');
    assert.deepEqual(await exportedIds(manifest), ['Observation/o1', 'Patient/p1', 'Patient/p3']);
    assert.equal(manifest.error.length, 1);
    assert.equal(manifest.error[0].type, 'OperationOutcome');
    const errors = await ndjsonOf(manifest.error[0].url);
    assert.equal(manifest.error[0].count, errors.length);
    const real = errors.filter((o) => o.issue[0].severity === 'error');
    assert.deepEqual(
      real.map((o) => o.issue[0].expression),
      [['Observation/o2'], ['Patient/p2']]
    );
    for (const o of real) {
      assert.equal(o.resourceType, 'OperationOutcome');
      assert.equal(o.issue[0].code, 'processing');
      assert.match(o.issue[0].diagnostics, new RegExp(`Failed to export ${o.issue[0].expression[0]}`));
    }
    assert.deepEqual(
      errors.filter((o) => o.issue[0].severity !== 'error').map((o) => o.issue[0].severity),
      ['warning'],
      'the _elements warning is still there'
    );
  });

  test('manifestWithoutCount, retryAfterHttpDate', async () => {
    await faults({ manifestWithoutCount: true, retryAfterHttpDate: true, retryAfterSeconds: 3600, exportPolls: 1 });
    const url = (await get('/$export?_type=Patient', ASYNC)).headers['content-location'];
    const running = await get(url);
    assert.equal(running.status, 202);
    const date = Date.parse(running.headers['retry-after']);
    assert.match(running.headers['retry-after'], /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
    assert.ok(date > Date.now() + 3500_000 && date < Date.now() + 3700_000, running.headers['retry-after']);
    const done = await get(url);
    assert.equal(done.status, 200);
    assert.ok(done.json.output.length > 0);
    for (const item of done.json.output) assert.equal('count' in item, false);
    assert.deepEqual(await exportedIds(done.json), ['Patient/p1', 'Patient/p2', 'Patient/p3']);
  });

  test('download faults: 500 OperationOutcome, 502 HTML page', async () => {
    const { manifest } = await exportManifest('/$export?_type=Patient');
    const fileUrl = manifest.output[0].url;
    await faults({ download500: 1, download502Html: 1 });
    const r500 = await get(fileUrl);
    assert.equal(r500.status, 500);
    assert.equal(r500.json.resourceType, 'OperationOutcome');
    const r502 = await get(fileUrl);
    assert.equal(r502.status, 502);
    assert.match(r502.headers['content-type'], /^text\/html/);
    assert.match(r502.text, /<h1>502 Bad Gateway<\/h1>/);
    assert.equal(r502.json, undefined, 'not JSON');
    assert.equal((await get(fileUrl)).status, 200);
  });

  test('exportRequiresToken', async () => {
    await faults({ exportRequiresToken: true, accessToken: 'abc' });
    assert.equal((await get('/$export', ASYNC)).status, 401);
    const auth = { Authorization: 'Bearer abc' };
    const { url, manifest } = await exportManifest('/$export?_type=Patient', auth);
    assert.equal(manifest.requiresAccessToken, true);
    assert.equal((await get(url)).status, 401);
    assert.equal((await get(manifest.output[0].url)).status, 401);
    assert.equal((await get(manifest.output[0].url, auth)).status, 200);
    const st = await get('/$admin/stats');
    assert.equal(st.json.exportKickoffs, 2);
    // Only the kick-off that passed the token check has its parameters listed.
    assert.deepEqual(
      st.json.kickoffs.map((k) => ({ level: k.level, params: k.params })),
      [{ level: 'system', params: { _type: ['Patient'] } }],
    );
  });
});

describe('$import', () => {
  let files;
  before(async () => {
    files = await fileServer({
      '/versions.ndjson': [
        P('v', '2020-03-01T00:00:00Z', '3', { active: true }),
        P('v', '2020-01-01T00:00:00Z', '1'),
        P('v', '2020-02-01T00:00:00Z', '2'),
        P('sd', '2020-01-01T00:00:00Z', '1'),
        P('sd', '2020-05-01T00:00:00Z', '2', { meta: { versionId: '2', lastUpdated: '2020-05-01T00:00:00Z', extension: [{ url: 'http://azurehealthcareapis.com/data-extensions/deleted-state', valueString: 'soft-deleted' }] } }),
      ]
        .map((r) => JSON.stringify(r))
        .join('\n'),
      '/bad.ndjson': ['{"resourceType":"Patient","id":"ok1"}', '{oops', '{"id":"x"}', '{"resourceType":"Observation","id":"o"}', '', '{"resourceType":"Patient","id":"ok2"}'].join('\n'),
    });
  });
  after(() => files.close());

  test('IncrementalLoad keeps versions in order, newest current, soft-delete deletes', async () => {
    const { status } = await runImport(importBody([['Patient', `${files.url}/versions.ndjson`]]));
    assert.equal(status.status, 200);
    assert.equal(status.json.output[0].count, 5);
    const v = await get('/Patient/v');
    assert.equal(v.json.meta.versionId, '3');
    assert.equal(v.json.meta.lastUpdated, '2020-03-01T00:00:00Z');
    const h = await get('/Patient/v/_history');
    assert.deepEqual(
      h.json.entry.map((e) => e.resource.meta.versionId),
      ['3', '2', '1']
    );
    assert.equal((await get('/Patient/v/_history/2')).status, 200);
    assert.equal((await get('/Patient/sd')).status, 404);
    const m = (await exportManifest('/$export?_type=Patient')).manifest;
    assert.deepEqual(await exportedIds(m, 'deleted'), ['Patient/sd']);
  });

  test('InitialLoad assigns new meta; bad lines reported with line numbers', async () => {
    const { status } = await runImport(importBody([['Patient', `${files.url}/bad.ndjson`]], 'InitialLoad'));
    assert.equal(status.status, 200);
    assert.equal(status.json.output[0].count, 2);
    assert.equal(status.json.error[0].count, 3);
    const errs = (await get(status.json.error[0].url)).text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    assert.deepEqual(
      errs.map((e) => /line: (\d+) /.exec(e.issue[0].diagnostics)[1]),
      ['2', '3', '4']
    );
    const ok = await get('/Patient/ok1');
    assert.equal(ok.json.meta.versionId, '1');
    assert.ok(Date.now() - Date.parse(ok.json.meta.lastUpdated) < 60000);
  });

  test('kick-off faults 423/413/transient 500, slow polls, unreachable input, cancel', async () => {
    await faults({ import423: 1, import413: 1, importTransient500: 1, slowImportPolls: 3 });
    const body = importBody([['Patient', `${files.url}/versions.ndjson`]]);
    assert.equal((await request('POST', '/$import', { body, headers: ASYNC })).status, 423);
    assert.equal((await request('POST', '/$import', { body, headers: ASYNC })).status, 413);
    const t = await request('POST', '/$import', { body, headers: ASYNC });
    assert.equal(t.status, 500);
    assert.equal(t.json.issue[0].code, 'transient');
    const k = await request('POST', '/$import', { body, headers: ASYNC });
    assert.equal(k.status, 202);
    const url = k.headers['content-location'];
    await new Promise((r) => setTimeout(r, 200));
    for (let i = 0; i < 3; i++) assert.equal((await get(url)).status, 202);
    assert.equal((await get(url)).status, 200);
    assert.equal((await request('DELETE', url)).status, 202);
    assert.equal((await get(url)).status, 404);

    await faults({});
    const { status } = await runImport(importBody([['Patient', `${files.url}/missing.ndjson`]]));
    assert.equal(status.status, 400);
    assert.match(status.json.issue[0].diagnostics, /404/);
  });

  test('importDrop loses resources silently; importFailJob fails the job; a payload maps to one job', async () => {
    await faults({ importDrop: 2 });
    const body = importBody([['Patient', `${files.url}/versions.ndjson`]]);
    let { status } = await runImport(body);
    assert.equal(status.status, 200);
    assert.equal(status.json.output[0].count, 3, 'two of five dropped');
    assert.deepEqual(status.json.error, [], 'and not reported');
    await faults({ importFailJob: 1 });
    ({ status } = await runImport(importBody([['Patient', `${files.url}/versions.ndjson`]], 'InitialLoad')));
    assert.equal(status.status, 400);
    assert.match(status.json.issue[0].diagnostics, /importFailJob/);
    // The same payload again returns the same (finished) job, as a server that
    // deduplicates job definitions does.
    await faults({});
    ({ status } = await runImport(body));
    assert.equal(status.json.output[0].count, 3);
  });

  test('importFailAfter: the job fails after importing part of its input, and what it imported stays', async () => {
    await faults({ importFailAfter: 2 });
    const { status } = await runImport(importBody([['Patient', `${files.url}/bad.ndjson`]], 'InitialLoad'));
    assert.equal(status.status, 400);
    assert.equal(status.json.issue[0].severity, 'error');
    assert.match(status.json.issue[0].diagnostics, /^Import failed: the job stopped after importing 2 resources/);
    assert.equal((await get('/Patient/ok1')).status, 200, 'imported before the failure: kept');
    assert.equal((await get('/Patient/ok2')).status, 200);
    assert.deepEqual((await get('/$admin/faults')).json.faults, {}, 'used up by that job');
    await faults({ importFailAfter: 1 });
    const again = await runImport(importBody([['Patient', `${files.url}/versions.ndjson`]]));
    assert.equal(again.status.status, 400);
    assert.deepEqual((await get('/$admin/stats')).json.resources, { Patient: 3 }, 'one more resource stored');
  });
});

describe('$admin', () => {
  test('load keeps meta exactly, reports errors; stats counts types', async () => {
    const r = await request('POST', '/$admin/load', {
      body: [JSON.stringify(P('m', '2019-05-05T10:00:00.123456Z', 'abc')), '{"resourceType":"Nope"}', '{"resourceType":"Patient","id":"bad id!"}'].join('\n'),
    });
    assert.equal(r.json.loaded, 1);
    assert.deepEqual(
      r.json.errors.map((e) => e.line),
      [2, 3]
    );
    const m = await get('/Patient/m');
    assert.deepEqual(m.json.meta, { versionId: 'abc', lastUpdated: '2019-05-05T10:00:00.123456Z' });
    const st = await get('/$admin/stats');
    assert.deepEqual(st.json.resources, { Patient: 1 });
    assert.ok(st.json.requests['GET read'] >= 1);
  });

  test('faults validation', async () => {
    assert.equal((await faults({ exportStatus429: -1 })).status, 400);
    assert.equal((await faults({ putReject: 'Patient/x' })).status, 400);
    assert.equal((await faults({ typo: 1 })).status, 400);
    assert.equal((await faults({ exportStatus429: 2 })).status, 200);
    assert.deepEqual((await get('/$admin/faults')).json.faults, { exportStatus429: 2 });
  });
});
