// Azure Health Data Services style $import emulation. Inputs are fetched with node:http/https
// (any URL: Azurite SAS URLs, this server's own $export files, other loopback servers) and parsed
// line by line; resources are stored in chunks under the store lock. See fhir-server.mjs.

import { createHash, randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { createGunzip } from 'node:zlib';
import {
  FHIR_NDJSON,
  HttpError,
  PLAIN_JSON,
  ndjsonLines,
  operationOutcome,
  paramValue,
  send,
  sendJson,
  wantsRespondAsync,
} from './util.mjs';
import { retryAfterValue } from './export.mjs';

const FORMATS = new Set(['application/fhir+ndjson', 'application/ndjson', 'ndjson']);
const CHUNK = 1000;

/** GET a URL, following up to 5 redirects (no credentials are ever sent). Resolves the response. */
function fetchStream(url, redirects = 5) {
  return new Promise((resolve, reject) => {
    let u;
    try {
      u = new URL(url);
    } catch {
      reject(new Error(`invalid URL "${url}"`));
      return;
    }
    const mod = u.protocol === 'https:' ? https : u.protocol === 'http:' ? http : null;
    if (!mod) {
      reject(new Error(`unsupported URL scheme in "${url}"`));
      return;
    }
    const req = mod.get(u, { headers: { Accept: 'application/fhir+ndjson', 'Accept-Encoding': 'gzip' } }, (res) => {
      if (res.statusCode >= 300 && res.statusCode < 400 && res.headers.location && redirects > 0) {
        res.resume();
        resolve(fetchStream(new URL(res.headers.location, u).toString(), redirects - 1));
        return;
      }
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`GET ${url} answered HTTP ${res.statusCode}`));
        return;
      }
      resolve(/\bgzip\b/i.test(String(res.headers['content-encoding'] ?? '')) ? res.pipe(createGunzip()) : res);
    });
    req.on('error', reject);
  });
}

export class ImportManager {
  constructor({ store, faults, stats, log }) {
    this.store = store;
    this.faults = faults;
    this.stats = stats;
    this.log = log;
    this.jobs = new Map();
    this.byKey = new Map();
  }

  reset() {
    for (const job of this.jobs.values()) job.cancelled = true;
    this.jobs.clear();
    this.byKey.clear();
  }

  take(name) {
    const f = this.faults();
    if (Number(f[name]) > 0) {
      f[name]--;
      return true;
    }
    return false;
  }

  retryAfter() {
    return retryAfterValue(this.faults());
  }

  /** importTransient500 applies to the next N import requests (kick-off or status poll). */
  transientFault(res) {
    if (this.take('importTransient500')) {
      sendJson(res, 500, operationOutcome('transient', 'Transient failure (fault switch importTransient500)'), {
        'Retry-After': this.retryAfter(),
      });
      return true;
    }
    return false;
  }

  kickoff(ctx) {
    const { req, res, baseUrl, body } = ctx;
    this.stats.importKickoffs++;
    if (this.take('import423')) {
      return sendJson(res, 423, operationOutcome('lock-error', 'Import is locked (fault switch import423; e.g. initial import mode active)'));
    }
    if (this.take('import413')) {
      return sendJson(res, 413, operationOutcome('too-costly', 'Import request too large (fault switch import413)'));
    }
    if (this.transientFault(res)) return;
    if (!wantsRespondAsync(req)) throw new HttpError(400, 'invalid', '$import requires the header "Prefer: respond-async"');
    if (body?.resourceType !== 'Parameters') throw new HttpError(400, 'invalid', '$import body must be a Parameters resource');

    let inputFormat;
    let mode = 'IncrementalLoad';
    const inputs = [];
    for (const p of body.parameter ?? []) {
      if (p?.name === 'inputFormat') inputFormat = paramValue(p);
      else if (p?.name === 'mode') mode = paramValue(p);
      else if (p?.name === 'input') {
        const part = (n) => paramValue((p.part ?? []).find((x) => x?.name === n));
        const input = { type: part('type'), url: part('url') };
        if (typeof input.url !== 'string' || !input.url) throw new HttpError(400, 'invalid', 'Each input needs a url part');
        if (input.type !== undefined && !this.store.knownTypes.has(input.type)) {
          throw new HttpError(400, 'invalid', `Unknown resource type "${input.type}" in input`);
        }
        inputs.push(input);
      }
    }
    if (!FORMATS.has(inputFormat)) throw new HttpError(400, 'invalid', `inputFormat must be application/fhir+ndjson (got "${inputFormat}")`);
    if (mode !== 'IncrementalLoad' && mode !== 'InitialLoad') throw new HttpError(400, 'invalid', `Unknown mode "${mode}"`);
    if (!inputs.length) throw new HttpError(400, 'invalid', '$import needs at least one input');

    // Idempotent registration: the same payload returns the same job.
    const key = createHash('sha256').update(JSON.stringify(body)).digest('hex');
    let job = this.jobs.get(this.byKey.get(key));
    if (!job) {
      job = {
        id: randomUUID(),
        key,
        mode,
        inputs: inputs.map((i) => ({ ...i, count: 0, errors: [], lines: 0 })),
        request: `${baseUrl}/$import`,
        transactionTime: new Date().toISOString(),
        state: 'running',
        failure: null,
        polls: 0,
        requiredPolls: Math.max(0, Number(this.faults().importPolls ?? 1)),
        cancelled: false,
      };
      this.jobs.set(job.id, job);
      this.byKey.set(key, job.id);
      this.stats.importJobs++;
      this.log(`import ${job.id} (${mode}) registered with ${inputs.length} inputs`);
      this.run(job).catch((err) => {
        job.state = 'failed';
        job.failure = err.message;
      });
    }
    send(res, 202, null, { 'Content-Location': `${baseUrl}/_operations/import/${job.id}` });
  }

  async run(job) {
    const keepMeta = job.mode === 'IncrementalLoad';
    const failJob = this.take('importFailJob');
    // importFailAfter: this job stores its first N resources, then fails; what it stored stays
    // (as on Azure). The switch is used up by this job.
    const f = this.faults();
    const failAfter = f.importFailAfter;
    if (failAfter !== undefined) delete f.importFailAfter;
    let stored = 0;
    for (const input of job.inputs) {
      if (job.cancelled) return;
      let stream;
      try {
        stream = await fetchStream(input.url);
      } catch (err) {
        job.state = 'failed';
        job.failure = `Cannot read input ${input.url}: ${err.message}`;
        this.log(`import ${job.id} failed: ${job.failure}`);
        return;
      }
      let chunk = [];
      const flush = async () => {
        const items = chunk;
        chunk = [];
        if (failJob) return;
        await this.store.lock.run(() => {
          for (const [n, r] of items) {
            if (this.take('importDrop')) continue; // silently lost: no count, no error
            if (failAfter !== undefined && stored >= failAfter) break;
            try {
              this.store.loadResource(r, { keepMeta });
              input.count++;
              stored++;
            } catch (err) {
              input.errors.push(this.lineError(input, n, err.message));
            }
          }
        });
      };
      try {
        for await (const [n, line] of ndjsonLines(stream)) {
          if (job.cancelled) {
            stream.destroy();
            return;
          }
          input.lines = n;
          if (!line.trim()) continue;
          let r;
          try {
            r = JSON.parse(line);
          } catch (err) {
            input.errors.push(this.lineError(input, n, `invalid JSON: ${err.message}`));
            continue;
          }
          if (!r || typeof r !== 'object' || Array.isArray(r) || typeof r.resourceType !== 'string') {
            input.errors.push(this.lineError(input, n, 'missing resourceType'));
            continue;
          }
          if (input.type && r.resourceType !== input.type) {
            input.errors.push(this.lineError(input, n, `resourceType "${r.resourceType}" does not match input type "${input.type}"`));
            continue;
          }
          chunk.push([n, r]);
          if (chunk.length >= CHUNK) await flush();
          if (failAfter !== undefined && stored >= failAfter) break;
        }
        await flush();
        if (failAfter !== undefined && stored >= failAfter) {
          stream.destroy();
          break;
        }
      } catch (err) {
        job.state = 'failed';
        job.failure = `Error while reading ${input.url}: ${err.message}`;
        this.log(`import ${job.id} failed: ${job.failure}`);
        return;
      }
    }
    if (failAfter !== undefined) {
      job.state = 'failed';
      job.failure = `the job stopped after importing ${stored} resources: the database ran out of space (fault switch importFailAfter)`;
      this.log(`import ${job.id} failed: ${job.failure}`);
      return;
    }
    if (failJob) {
      job.state = 'failed';
      job.failure = 'the job failed (fault switch importFailJob)';
      this.log(`import ${job.id} failed: ${job.failure}`);
      return;
    }
    job.state = 'done';
    const total = job.inputs.reduce((n, i) => n + i.count, 0);
    const errors = job.inputs.reduce((n, i) => n + i.errors.length, 0);
    this.log(`import ${job.id} done: ${total} resources, ${errors} errors`);
  }

  lineError(input, n, message) {
    return JSON.stringify(operationOutcome('processing', `Failed to process resource at line: ${n} of ${input.url}: ${message}`));
  }

  job(id) {
    const job = this.jobs.get(id);
    if (!job) throw new HttpError(404, 'not-found', `Unknown or deleted import job ${id}`);
    return job;
  }

  status(ctx, id) {
    const { res, baseUrl } = ctx;
    const job = this.job(id);
    if (this.transientFault(res)) return;
    if (job.state === 'failed') {
      return sendJson(res, 400, operationOutcome('processing', `Import failed: ${job.failure}`));
    }
    const required = Math.max(job.requiredPolls, Number(this.faults().slowImportPolls ?? 0));
    if (job.state === 'running' || job.polls < required) {
      job.polls++;
      const done = job.inputs.reduce((n, i) => n + i.count, 0);
      return send(res, 202, null, {
        'X-Progress': `${job.state === 'running' ? 'importing' : 'finishing'}: ${done} resources imported`,
        'Retry-After': this.retryAfter(),
      });
    }
    const body = {
      transactionTime: job.transactionTime,
      request: job.request,
      output: job.inputs.map((i) => ({ type: i.type ?? 'Resource', count: i.count, inputUrl: i.url })),
      error: job.inputs.flatMap((i, k) =>
        i.errors.length
          ? [{ type: 'OperationOutcome', count: i.errors.length, inputUrl: i.url, url: `${baseUrl}/$import-errors/${job.id}/${k + 1}.ndjson` }]
          : []
      ),
    };
    sendJson(res, 200, body, {}, PLAIN_JSON);
  }

  cancel(ctx, id) {
    const job = this.job(id);
    job.cancelled = true;
    this.jobs.delete(id);
    this.byKey.delete(job.key);
    sendJson(ctx.res, 202, operationOutcome('informational', `Import job ${id} cancelled`, 'information'));
  }

  errorFile(ctx, id, n) {
    const job = this.job(id);
    const input = job.inputs[Number(String(n).replace(/\.ndjson$/, '')) - 1];
    if (!input) throw new HttpError(404, 'not-found', `No error file ${n} for import job ${id}`);
    send(ctx.res, 200, input.errors.length ? input.errors.join('\n') + '\n' : '', { 'Content-Type': FHIR_NDJSON });
  }
}
