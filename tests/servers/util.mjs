// Shared HTTP / FHIR helpers for the fhir-migrate loopback test server.
// See fhir-server.mjs for the route and switch documentation.

import { STATUS_CODES } from 'node:http';
import { createInterface } from 'node:readline';

export const FHIR_JSON = 'application/fhir+json; charset=utf-8';
export const PLAIN_JSON = 'application/json; charset=utf-8';
export const FHIR_NDJSON = 'application/fhir+ndjson';

/** An error that the dispatcher turns into an OperationOutcome response. */
export class HttpError extends Error {
  constructor(status, code, diagnostics, headers = {}) {
    super(diagnostics);
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

export function operationOutcome(code, diagnostics, severity = 'error') {
  return {
    resourceType: 'OperationOutcome',
    issue: [{ severity, code, diagnostics }],
  };
}

/** "200 OK" style status line used in batch/transaction responses. */
export function statusLine(code) {
  return `${code} ${STATUS_CODES[code] ?? ''}`.trim();
}

export function send(res, status, body, headers = {}) {
  if (res.headersSent || res.destroyed) return;
  const buf = body === undefined || body === null ? null : Buffer.isBuffer(body) ? body : Buffer.from(body);
  const h = { ...headers };
  if (buf) h['Content-Length'] = buf.length;
  res.writeHead(status, h);
  res.end(buf ?? undefined);
}

export function sendJson(res, status, obj, headers = {}, contentType = FHIR_JSON) {
  send(res, status, JSON.stringify(obj), { 'Content-Type': contentType, ...headers });
}

export function sendOutcome(res, status, code, diagnostics, headers = {}) {
  sendJson(res, status, operationOutcome(code, diagnostics), headers);
}

/** Reads a whole request body (bounded). */
export async function readBody(req, limit = 512 * 1024 * 1024) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, 'too-costly', `Request body larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export async function readJsonBody(req) {
  const buf = await readBody(req);
  if (buf.length === 0) return undefined;
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch (err) {
    throw new HttpError(400, 'structure', `Request body is not valid JSON: ${err.message}`);
  }
}

/**
 * Iterates the lines of a readable byte stream (NDJSON), never buffering the whole stream.
 * Yields [lineNumber (1-based), text]; blank lines are yielded too (callers skip them).
 */
export async function* ndjsonLines(stream) {
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  let n = 0;
  for await (const line of rl) {
    n++;
    yield [n, line];
  }
}

/** Simple FIFO async mutex: all store writes run under it. */
export class Lock {
  constructor() {
    this.tail = Promise.resolve();
  }
  run(fn) {
    const result = this.tail.then(() => fn());
    this.tail = result.then(
      () => undefined,
      () => undefined
    );
    return result;
  }
}

const DATE_RE =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

/**
 * Parses a FHIR date/dateTime/instant (any precision) into its precision range [start, end) in epoch ms.
 * A '+' that URL decoding turned into a space is restored. Returns null when invalid.
 */
export function parseDateRange(input) {
  if (typeof input !== 'string') return null;
  const s = input.trim().replace(/ (\d{2}:\d{2})$/, '+$1');
  const m = DATE_RE.exec(s);
  if (!m) return null;
  const [, y, mo, d, hh, mi, ss, frac, tz] = m;
  const Y = +y;
  const M = mo ? +mo - 1 : 0;
  const D = d ? +d : 1;
  if (mo && (M < 0 || M > 11)) return null;
  if (d && (D < 1 || D > 31)) return null;
  let start;
  let end;
  if (!mo) {
    start = Date.UTC(Y, 0, 1);
    end = Date.UTC(Y + 1, 0, 1);
  } else if (!d) {
    start = Date.UTC(Y, M, 1);
    end = Date.UTC(Y, M + 1, 1);
  } else if (hh === undefined) {
    start = Date.UTC(Y, M, D);
    end = Date.UTC(Y, M, D + 1);
  } else {
    const ms = frac ? Math.floor(+(frac + '000').slice(0, 3)) : 0;
    start = Date.UTC(Y, M, D, +hh, +mi, ss ? +ss : 0, ms);
    if (tz && tz !== 'Z') {
      const sign = tz[0] === '-' ? -1 : 1;
      const off = (+tz.slice(1, 3) * 60 + +tz.slice(4, 6)) * 60000;
      start -= sign * off;
    }
    let width;
    if (ss === undefined) width = 60000;
    else if (!frac) width = 1000;
    else if (frac.length === 1) width = 100;
    else if (frac.length === 2) width = 10;
    else width = 1;
    end = start + width;
  }
  if (!Number.isFinite(start)) return null;
  return { start, end };
}

/** Parses an instant into epoch ms (start of its precision range) or null. */
export function parseInstant(s) {
  const r = parseDateRange(s);
  return r ? r.start : null;
}

export function httpDate(iso) {
  const t = Date.parse(iso);
  return Number.isFinite(t) ? new Date(t).toUTCString() : undefined;
}

/** Reads a single primitive value out of a Parameters.parameter entry. */
export function paramValue(p) {
  if (!p || typeof p !== 'object') return undefined;
  for (const k of Object.keys(p)) {
    if (k.startsWith('value')) return p[k];
  }
  return undefined;
}

export function wantsRespondAsync(req) {
  const prefer = String(req.headers['prefer'] ?? '');
  return /(^|[\s,;])respond-async($|[\s,;])/i.test(prefer);
}

export function preferLenient(req) {
  return /handling\s*=\s*lenient/i.test(String(req.headers['prefer'] ?? ''));
}
