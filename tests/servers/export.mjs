// Bulk Data $export emulation (v2 + STU3 _until + Azure _till / includeAssociatedData /
// _typeFilter). Kick-off takes a snapshot (references to the stored, never-mutated resource
// objects); files are serialized lazily on first download and cached (plain and gzip). See
// fhir-server.mjs for the documented routes and switches.

import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { matchesSearchRequest } from '@medplum/core';
import { cmpEntry, toMs } from './store.mjs';
import {
  FHIR_NDJSON,
  HttpError,
  PLAIN_JSON,
  operationOutcome,
  paramValue,
  parseDateRange,
  preferLenient,
  send,
  sendJson,
  wantsRespondAsync,
} from './util.mjs';

const OUTPUT_FORMATS = new Set(['application/fhir+ndjson', 'application/ndjson', 'ndjson']);
const KNOWN_PARAMS = new Set([
  '_outputFormat',
  '_since',
  '_till',
  '_until',
  '_type',
  '_typeFilter',
  '_elements',
  'includeAssociatedData',
  'patient',
  'organizeOutputBy',
  'allowPartialManifests',
  '_maxCount',
  '_isParallel',
  '_container',
  '_format',
]);
const LIST_PARAMS = new Set(['_type', '_typeFilter', '_elements', 'includeAssociatedData']);
const MAX_KICKOFF_RECORDS = 1000;

function lowerBound(arr, t) {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (arr[mid].t < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** "Patient/x", ".../Patient/x", "Patient/x/_history/2" -> "x" when it names a Patient. */
function patientIdOf(ref) {
  const s = typeof ref === 'string' ? ref : ref?.reference;
  if (typeof s !== 'string') return undefined;
  const m = /(?:^|\/)Patient\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/.exec(s);
  return m ? m[1] : undefined;
}

/** Retry-After of a switch set: seconds, or an HTTP-date that many seconds ahead (retryAfterHttpDate). */
export function retryAfterValue(f) {
  const seconds = Number(f.retryAfterSeconds ?? 1);
  return f.retryAfterHttpDate ? new Date(Date.now() + seconds * 1000).toUTCString() : String(seconds);
}

/** A proxy's 502 page: not FHIR, not JSON (download502Html). */
const BAD_GATEWAY_HTML =
  '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n' +
  '<hr><center>nginx/1.24.0 (fault switch download502Html)</center>\r\n</body>\r\n</html>\r\n';

/** Sleeps `ms` milliseconds (downloadDelayMs). */
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export class ExportManager {
  constructor({ store, search, faults, stats, log }) {
    this.store = store;
    this.search = search; // SearchEngine: its matcher evaluates _typeFilter queries
    this.faults = faults; // function returning the current switch object
    this.stats = stats;
    this.log = log;
    this.jobs = new Map();
    this.signKey = randomBytes(32); // signs presigned file URLs (redirectFiles)
  }

  /** The `sig` of a presigned file URL: HMAC of "<jobId>/<file name>". */
  signature(jobId, name) {
    return createHmac('sha256', this.signKey).update(`${jobId}/${name}`).digest('hex');
  }

  /** Whether a file download carries a valid presigned `sig` (needs no token). */
  presigned(jobId, name, url) {
    const sig = url.searchParams.get('sig');
    if (!sig) return false;
    const want = Buffer.from(this.signature(jobId, name));
    const got = Buffer.from(sig);
    return got.length === want.length && timingSafeEqual(got, want);
  }

  /** Where the emulation's URLs live: the request's base, or the origin a switch moves them to. */
  static movedBase(origin, baseUrl) {
    return origin ? `${String(origin).replace(/\/+$/, '')}/fhir` : baseUrl;
  }

  /**
   * _typeFilter values ("Type?query", repeatable; several for one type are OR'ed) → Map type →
   * SearchRequest list (null entry = matches everything). Query parameters are evaluated like
   * any other search parameter (@medplum/core's matchesSearchRequest); an unknown type or
   * parameter is a 400 (a warning with "Prefer: handling=lenient").
   */
  typeFilters(values, lenient, reject) {
    const out = new Map();
    for (const v of values ?? []) {
      const q = v.indexOf('?');
      const type = q < 0 ? v : v.slice(0, q);
      if (q < 0 || !this.store.knownTypes.has(type)) {
        reject(`Invalid _typeFilter "${v}": expected <ResourceType>?<search query>`);
        continue;
      }
      const pairs = [...new URLSearchParams(v.slice(q + 1))];
      let sr;
      try {
        sr = this.search.matcherFor(type, pairs, lenient);
      } catch (err) {
        reject(`Invalid _typeFilter "${v}": ${err.message}`);
        continue;
      }
      const list = out.get(type) ?? [];
      list.push(sr);
      out.set(type, list);
    }
    return out;
  }

  /** Records what a kick-off asked for (GET /fhir/$admin/stats → kickoffs, newest last). */
  recordKickoff(req, url, level, groupId, body, params) {
    const list = (this.stats.kickoffs ??= []);
    list.push({
      method: req.method,
      path: url.pathname,
      level,
      ...(groupId !== undefined ? { groupId } : {}),
      query: [...url.searchParams],
      body: req.method === 'POST' ? (body ?? null) : null,
      params: Object.fromEntries(params),
    });
    if (list.length > MAX_KICKOFF_RECORDS) list.splice(0, list.length - MAX_KICKOFF_RECORDS);
  }

  reset() {
    this.jobs.clear();
  }

  /** Retry-After: retryAfterSeconds (default 1), as an HTTP-date with retryAfterHttpDate. */
  retryAfter() {
    return retryAfterValue(this.faults());
  }

  /** exportRequiresToken: kick-off, status and files need "Authorization: Bearer <accessToken>". */
  checkAuth(req, job) {
    const f = this.faults();
    const required = f.exportRequiresToken || job?.requiresToken;
    if (!required) return;
    const token = job?.requiresToken ? job.token : (f.accessToken ?? 'test-token');
    if (req.headers['authorization'] !== `Bearer ${token}`) {
      throw new HttpError(401, 'login', 'Missing or invalid bearer token (exportRequiresToken)', {
        'WWW-Authenticate': 'Bearer',
      });
    }
  }

  // ---- kick-off -------------------------------------------------------------------------------

  readParams(req, url, body) {
    const params = new Map();
    const add = (name, value) => {
      if (value === undefined || value === null) return;
      const list = params.get(name) ?? [];
      if (LIST_PARAMS.has(name)) {
        for (const v of String(value).split(',')) if (v.trim()) list.push(v.trim());
      } else {
        list.push(name === 'patient' ? value : String(value));
      }
      params.set(name, list);
    };
    for (const [k, v] of url.searchParams) add(k, v);
    if (req.method === 'POST' && body !== undefined) {
      if (body?.resourceType !== 'Parameters') throw new HttpError(400, 'invalid', 'POST $export body must be a Parameters resource');
      for (const p of body.parameter ?? []) {
        if (p?.name === 'patient') add('patient', p.valueReference ?? paramValue(p));
        else add(p?.name, paramValue(p));
      }
    }
    return params;
  }

  kickoff(ctx, level, groupId) {
    const { req, res, url, baseUrl, body } = ctx;
    this.stats.exportKickoffs++;
    this.checkAuth(req);
    if (!wantsRespondAsync(req)) {
      throw new HttpError(400, 'invalid', '$export requires the header "Prefer: respond-async"');
    }
    const f = this.faults();
    const lenient = preferLenient(req);
    const params = this.readParams(req, url, body);
    this.recordKickoff(req, url, level, groupId, body, params);
    if (this.take('kickoff429')) {
      return sendJson(res, 429, operationOutcome('throttled', 'An export is already running for this client; wait for it to finish (fault switch kickoff429)'), {
        'Retry-After': this.retryAfter(),
      });
    }
    if (this.take('kickoff503')) {
      return sendJson(res, 503, operationOutcome('transient', 'The export service is starting up; try again shortly (fault switch kickoff503)'), {
        'Retry-After': this.retryAfter(),
      });
    }
    if (this.take('kickoff500')) {
      return sendJson(res, 500, operationOutcome('processing', 'Export could not be queued: the job store rejected the request (fault switch kickoff500)'));
    }
    if (this.take('kickoff400')) {
      return sendJson(res, 400, operationOutcome('not-supported', 'This server cannot export the requested resource types (fault switch kickoff400)'));
    }
    const warnings = [];
    const reject = (msg) => {
      if (lenient) warnings.push(msg);
      else throw new HttpError(400, 'invalid', msg);
    };
    for (const k of params.keys()) if (!KNOWN_PARAMS.has(k)) reject(`Unsupported $export parameter "${k}"`);
    const one = (name) => {
      const v = params.get(name);
      return v ? v[v.length - 1] : undefined;
    };

    const fmt = one('_outputFormat');
    if (fmt !== undefined && !OUTPUT_FORMATS.has(fmt)) {
      throw new HttpError(400, 'invalid', `Unsupported _outputFormat "${fmt}"`);
    }
    const parseBound = (name) => {
      const v = one(name);
      if (v === undefined) return undefined;
      const r = parseDateRange(v);
      if (!r) throw new HttpError(400, 'invalid', `Invalid ${name} value "${v}"`);
      return r;
    };
    const since = parseBound('_since');
    const till = parseBound('_till');
    const until = parseBound('_until');
    let upper = [till, until].filter(Boolean).sort((a, b) => a.start - b.start)[0];
    if (f.ignoreUpperBound) upper = undefined;
    const inclusive = !!f.upperBoundInclusive;

    const types = params.get('_type');
    if (types) {
      for (const t of types) {
        if (!this.store.knownTypes.has(t)) reject(`Unknown resource type "${t}" in _type`);
      }
    }
    const filters = this.typeFilters(params.get('_typeFilter'), lenient, reject);
    const passesTypeFilter = (r) => {
      const list = filters.get(r.resourceType);
      if (!list) return true;
      return list.some((sr) => {
        if (!sr) return true;
        try {
          return matchesSearchRequest(r, sr);
        } catch {
          return false;
        }
      });
    };
    if (params.has('_elements')) warnings.push('_elements is not supported by this server and was ignored');
    for (const k of ['organizeOutputBy', 'allowPartialManifests', '_maxCount']) {
      if (params.has(k)) warnings.push(`${k} is not supported by this server and was ignored`);
    }
    const assoc = new Set(params.get('includeAssociatedData') ?? []);
    for (const a of assoc) {
      if (a !== '_history' && a !== '_deleted') warnings.push(`includeAssociatedData value "${a}" is not supported and was ignored`);
    }

    // Patient set for Patient / Group level.
    let patientIds = null;
    if (level === 'group') {
      const group = this.store.current('Group', groupId);
      if (!group) throw new HttpError(404, 'not-found', `Group/${groupId} not found`);
      patientIds = new Set();
      for (const m of group.member ?? []) {
        const id = patientIdOf(m?.entity);
        if (id) patientIds.add(id);
      }
    } else if (level === 'patient') {
      patientIds = new Set(this.store.typeIndex('Patient').byId.keys());
    }
    if (params.has('patient')) {
      if (level === 'system') throw new HttpError(400, 'invalid', 'The "patient" parameter needs Patient- or Group-level $export');
      const wanted = new Set(params.get('patient').map(patientIdOf).filter(Boolean));
      patientIds = new Set([...patientIds].filter((id) => wanted.has(id)));
    }
    const inCompartment = (r) => {
      if (!patientIds) return true;
      if (r.resourceType === 'Patient') return patientIds.has(r.id);
      const s = patientIdOf(r.subject);
      if (s !== undefined && patientIds.has(s)) return true;
      const p = patientIdOf(r.patient);
      return p !== undefined && patientIds.has(p);
    };

    // Snapshot.
    const tt = Date.now();
    const transactionTime = new Date(tt).toISOString();
    const lo = since ? since.start : -Infinity;
    const hiExcl = Math.min(upper ? (inclusive ? upper.end : upper.start) : Infinity, tt + 1);
    const inWindow = (t) => t >= lo && t < hiExcl;
    const scopeTypes = (
      types
        ? types.filter((t) => this.store.knownTypes.has(t))
        : [...this.store.knownTypes].filter((t) => this.store.index.get(t)?.byId.size || this.store.history.get(t)?.size)
    ).sort();

    const deleted = [];
    // deletedInOutputOnly (Azure): no deleted[]; deletions only as soft-deleted versions in output[].
    for (const type of f.deletedInOutputOnly ? [] : scopeTypes) {
      for (const tomb of this.latestTombstones(type, inWindow)) {
        if (inCompartment(tomb.version)) deleted.push(tomb);
      }
    }
    deleted.sort(cmpEntry);
    // Bulk Data IG: a resource listed in deleted[] SHALL NOT also be in output[].
    const deletedKeys = new Set(deleted.map((tomb) => `${tomb.type}/${tomb.id}`));
    // exportErrors: these resources cannot be written; each becomes an error in error[].
    const failing = new Set(f.exportErrors ?? []);
    const failed = new Set();

    const outputs = []; // [type, resources[]]
    for (const type of scopeTypes) {
      if (level !== 'system' && patientIds && type === 'Group') continue;
      const items = [];
      const idx = this.store.typeIndex(type, false);
      if (assoc.has('_history')) {
        const byId = this.store.history.get(type);
        for (const [id, hist] of byId ?? []) {
          const exists = !!this.store.current(type, id);
          if (!exists && !assoc.has('_deleted')) continue;
          for (const v of hist) {
            const t = toMs(v.meta?.lastUpdated);
            if (inWindow(t) && inCompartment(v)) items.push({ t, id, type, res: v });
          }
        }
      } else if (idx) {
        const view = idx.view();
        const a = lo === -Infinity ? 0 : lowerBound(view, lo);
        const b = lowerBound(view, hiExcl);
        for (let i = a; i < b; i++) if (inCompartment(view[i].res)) items.push(view[i]);
      }
      if (assoc.has('_deleted')) {
        const seen = new Set(items.map((e) => e.res));
        // With _history a deletion is one of the resource's versions, even when
        // the resource was created again later; without it only the current
        // state is exported, so only resources that are deleted now.
        const tombs = assoc.has('_history')
          ? this.store.tombstones.filter((x) => x.type === type && inWindow(x.t))
          : this.latestTombstones(type, inWindow);
        for (const tomb of tombs) {
          if (!seen.has(tomb.version) && inCompartment(tomb.version)) {
            items.push({ t: tomb.t, id: tomb.id, type, res: tomb.version });
          }
        }
      }
      if (assoc.size) items.sort(cmpEntry);
      // Some servers list history newest first; the Bulk Data IG sets no order.
      if (assoc.has('_history') && f.historyNewestFirst) items.reverse();
      const kept = items.filter((e) => {
        const key = `${type}/${e.id}`;
        if (deletedKeys.has(key)) return false;
        if (filters.has(type) && !passesTypeFilter(e.res)) return false;
        if (failing.has(key)) {
          failed.add(key);
          return false;
        }
        return true;
      });
      if (kept.length) outputs.push([type, kept.map((e) => e.res)]);
    }

    const maxLines = Math.max(1, Number(f.maxLinesPerFile ?? 1000) || 1000);
    const files = new Map();
    const addFiles = (kind, type, prefix, items) => {
      const list = [];
      for (let i = 0, n = 1; i < items.length; i += maxLines, n++) {
        const name = `${prefix}-${n}`;
        const file = { name, kind, type, items: items.slice(i, i + maxLines) };
        files.set(name, file);
        list.push(file);
      }
      return list;
    };
    const output = [];
    for (const [type, items] of outputs) output.push(...addFiles('output', type, type, items));
    const deletedBundles = deleted.map((tomb) => ({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ request: { method: 'DELETE', url: `${tomb.type}/${tomb.id}` } }],
    }));
    const deletedFiles = addFiles('deleted', 'Bundle', 'deleted', deletedBundles);
    const errorItems = [
      ...[...failed].sort().map((key) => ({
        resourceType: 'OperationOutcome',
        issue: [
          {
            severity: 'error',
            code: 'processing',
            diagnostics: `Failed to export ${key}: the stored resource could not be serialized (fault switch exportErrors)`,
            expression: [key],
          },
        ],
      })),
      ...warnings.map((w) => operationOutcome('informational', w, 'warning')),
    ];
    const errorFiles = addFiles('error', 'OperationOutcome', 'error', errorItems);

    const id = randomUUID();
    const job = {
      id,
      level,
      request: `${baseUrl}${url.pathname.slice(url.pathname.indexOf('/fhir') + 5)}${req.method === 'GET' ? url.search : ''}`,
      transactionTime,
      requiresToken: !!f.exportRequiresToken,
      token: f.accessToken ?? 'test-token',
      requiredPolls: Math.max(0, Number(f.exportPolls ?? 1)),
      polls: 0,
      fails: this.take('exportJobFails'),
      purge: this.take('purgeExportJobs'),
      files,
      output,
      deletedFiles,
      errorFiles,
      gen: 0,
      validFromGen: undefined,
      expiryArm: undefined,
      created: tt,
    };
    this.jobs.set(id, job);
    this.stats.exportJobs++;
    const total = output.reduce((n, fl) => n + fl.items.length, 0);
    this.log(`export ${id} (${level}) kicked off: ${total} resources in ${output.length} files, ${deleted.length} deleted`);
    send(res, 202, JSON.stringify(operationOutcome('informational', `Export job ${id} accepted`, 'information')), {
      'Content-Location': `${ExportManager.movedBase(f.offOriginStatus, baseUrl)}/$export-status/${id}`,
      'Content-Type': 'application/fhir+json; charset=utf-8',
    });
  }

  /** Newest tombstone per id of one type in the window, for resources that do not exist now. */
  latestTombstones(type, inWindow) {
    const latest = new Map();
    for (const tomb of this.store.tombstones) {
      if (tomb.type !== type || !inWindow(tomb.t)) continue;
      if (this.store.current(type, tomb.id)) continue;
      const prev = latest.get(tomb.id);
      if (!prev || prev.t <= tomb.t) latest.set(tomb.id, tomb);
    }
    return [...latest.values()];
  }

  // ---- status / manifest -----------------------------------------------------------------------

  job(id) {
    const job = this.jobs.get(id);
    if (!job) throw new HttpError(404, 'not-found', `Unknown or deleted export job ${id}`);
    return job;
  }

  status(ctx, id) {
    const { req, res, baseUrl } = ctx;
    const job = this.job(id);
    this.checkAuth(req, job);
    const f = this.faults();
    if (this.take('exportStatus429')) {
      return sendJson(res, 429, operationOutcome('throttled', 'Too many requests (fault switch exportStatus429)'), {
        'Retry-After': this.retryAfter(),
      });
    }
    if (this.take('exportTransient500')) {
      return sendJson(res, 500, operationOutcome('transient', 'Transient failure (fault switch exportTransient500)'), {
        'Retry-After': this.retryAfter(),
      });
    }
    const required = Math.max(job.requiredPolls, Number(f.slowExportPolls ?? 0));
    if (job.purge && (job.polls >= 1 || required === 0)) {
      // Purged by the server while the client was polling (e.g. a retention sweep).
      this.jobs.delete(id);
      this.job(id);
    }
    if (job.polls < required) {
      job.polls++;
      return send(res, 202, null, {
        'X-Progress': `in progress: poll ${job.polls} of ${required}`,
        'Retry-After': this.retryAfter(),
      });
    }
    if (job.fails) {
      // The job failed for good: a non-transient OperationOutcome on every poll.
      this.stats.failedJobPolls++;
      return sendJson(res, 500, operationOutcome('processing', `Export job ${job.id} failed: the database export step aborted (fault switch exportJobFails)`));
    }
    job.gen++;
    const q = f.expireFiles ? `?gen=${job.gen}` : '';
    const fileBase = ExportManager.movedBase(f.offOriginFiles, baseUrl);
    const item = (file) => ({
      type: file.type,
      url: `${fileBase}/$export-file/${job.id}/${file.name}.ndjson${q}`,
      ...(f.manifestWithoutCount ? {} : { count: file.items.length }),
    });
    const manifest = {
      transactionTime: job.transactionTime,
      request: job.request,
      requiresAccessToken: job.requiresToken || !!f.bearerToken || !!f.hmacTokens,
      output: job.output.map(item),
      error: job.errorFiles.map(item),
      deleted: job.deletedFiles.map(item),
    };
    sendJson(res, 200, manifest, { Expires: new Date(Date.now() + 3600_000).toUTCString() }, PLAIN_JSON);
  }

  cancel(ctx, id) {
    const job = this.job(id);
    this.checkAuth(ctx.req, job);
    this.jobs.delete(id);
    sendJson(ctx.res, 202, operationOutcome('informational', `Export job ${id} deleted`, 'information'));
  }

  take(name) {
    const f = this.faults();
    if (Number(f[name]) > 0) {
      f[name]--;
      return true;
    }
    return false;
  }

  // ---- files ---------------------------------------------------------------------------------------

  fileBuffer(file) {
    if (!file.buf) {
      const parts = new Array(file.items.length);
      for (let i = 0; i < parts.length; i++) parts[i] = JSON.stringify(file.items[i]);
      file.buf = Buffer.from(parts.length ? parts.join('\n') + '\n' : '');
    }
    return file.buf;
  }

  async download(ctx, jobId, name) {
    const { req, res, url } = ctx;
    const job = this.job(jobId);
    const presigned = this.presigned(jobId, name, url);
    if (!presigned) this.checkAuth(req, job);
    const file = job.files.get(name.replace(/\.ndjson$/, ''));
    if (!file) throw new HttpError(404, 'not-found', `No file ${name} in export job ${jobId}`);
    const f = this.faults();
    if (f.redirectFiles && !presigned) {
      const target = new URL(`${ExportManager.movedBase(f.redirectFiles, '')}/$export-file/${jobId}/${name}`);
      for (const [k, v] of url.searchParams) target.searchParams.append(k, v);
      target.searchParams.set('sig', this.signature(jobId, name));
      return send(res, 302, null, { Location: target.toString() });
    }
    if (Number(f.downloadDelayMs) > 0) await sleep(Number(f.downloadDelayMs));
    if (f.expireFiles) {
      if (job.expiryArm !== f) {
        job.expiryArm = f;
        job.validFromGen = undefined;
      }
      const gen = Number(url.searchParams.get('gen') ?? 0);
      if (job.validFromGen === undefined || gen < job.validFromGen) {
        if (job.validFromGen === undefined) job.validFromGen = job.gen + 1;
        throw new HttpError(410, 'expired', 'File URL expired (fault switch expireFiles): re-read the status URL for fresh links');
      }
    }
    if (this.take('download500')) {
      return sendJson(res, 500, operationOutcome('exception', 'Internal error while reading the export file (fault switch download500)'));
    }
    if (this.take('download502Html')) {
      return send(res, 502, BAD_GATEWAY_HTML, { 'Content-Type': 'text/html' });
    }
    if (this.take('download429')) {
      return sendJson(res, 429, operationOutcome('throttled', 'Too many requests (fault switch download429)'), {
        'Retry-After': '1',
      });
    }
    const plain = this.fileBuffer(file);
    const headers = { 'Content-Type': FHIR_NDJSON, 'Accept-Ranges': 'bytes' };
    const range = req.headers['range'];
    const gzip = !range && /\bgzip\b/i.test(String(req.headers['accept-encoding'] ?? ''));
    if (this.take('shortFile')) {
      // A complete, well-formed transfer of every line but the last: only the
      // manifest's count can tell that something is missing.
      const cut = plain.length > 1 ? plain.lastIndexOf(0x0a, plain.length - 2) + 1 : 0;
      return send(res, 200, plain.subarray(0, cut), headers);
    }
    if (this.take('truncateFile')) {
      const body = gzip ? (file.gz ??= gzipSync(plain)) : plain;
      let cut = Math.floor(body.length / 2);
      if (!gzip) while (cut > 1 && (body[cut - 1] === 0x0a || body[cut] === 0x0a)) cut--;
      res.writeHead(200, { ...headers, ...(gzip ? { 'Content-Encoding': 'gzip' } : {}), 'Content-Length': body.length });
      res.write(body.subarray(0, Math.max(1, cut)), () => req.socket.destroy());
      return;
    }
    if (range) {
      const m = /^bytes=(\d*)-(\d*)$/.exec(String(range).trim());
      if (m && (m[1] || m[2])) {
        let start;
        let end;
        if (m[1] === '') {
          start = Math.max(0, plain.length - Number(m[2]));
          end = plain.length - 1;
        } else {
          start = Number(m[1]);
          end = m[2] === '' ? plain.length - 1 : Math.min(Number(m[2]), plain.length - 1);
        }
        if (start >= plain.length || start > end) {
          return send(res, 416, null, { ...headers, 'Content-Range': `bytes */${plain.length}` });
        }
        return send(res, 206, plain.subarray(start, end + 1), {
          ...headers,
          'Content-Range': `bytes ${start}-${end}/${plain.length}`,
        });
      }
    }
    if (gzip) {
      file.gz ??= gzipSync(plain);
      return send(res, 200, file.gz, { ...headers, 'Content-Encoding': 'gzip', Vary: 'Accept-Encoding' });
    }
    send(res, 200, plain, headers);
  }
}
