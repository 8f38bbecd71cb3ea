// Fast search for the test server: type search (GET [type], POST [type]/_search) and system search
// (GET [base]) over the Store's per-type index. A query is filtered and sorted once; the result list
// (entry references, no clones) is cached per query until the next write, and each page serializes
// only its own resources. _lastUpdated and _id are answered from the index (binary search / map);
// any other search parameter is checked per candidate with @medplum/core's matchesSearchRequest.

import { randomUUID } from 'node:crypto';
import { evalFhirPath, getSearchParameter, matchesSearchRequest, parseSearchRequest } from '@medplum/core';
import { cmpEntry } from './store.mjs';
import { HttpError, parseDateRange } from './util.mjs';

export const DEFAULT_COUNT = 20;
export const MAX_COUNT = 1000;
const CACHE_SIZE = 24;

// Parameters handled by the engine itself (not passed to the matcher).
const CONTROL = new Set(['_count', '_offset', '_sort', '_summary', '_total', '_elements', '_format', '_pretty', '_type']);
const IGNORED = new Set(['_include', '_revinclude', '_contained', '_containedType', '_cursor']);

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

/** Merges lists that are each sorted by cmpEntry (pairwise, O(n log k)). */
function mergeSorted(lists) {
  let ls = lists.filter((l) => l.length);
  if (!ls.length) return [];
  while (ls.length > 1) {
    const next = [];
    for (let x = 0; x < ls.length; x += 2) {
      const a = ls[x];
      const b = ls[x + 1];
      if (!b) {
        next.push(a);
        continue;
      }
      const out = new Array(a.length + b.length);
      let i = 0;
      let j = 0;
      let k = 0;
      while (i < a.length && j < b.length) out[k++] = cmpEntry(a[i], b[j]) <= 0 ? a[i++] : b[j++];
      while (i < a.length) out[k++] = a[i++];
      while (j < b.length) out[k++] = b[j++];
      next.push(out);
    }
    ls = next;
  }
  return ls[0];
}

function intParam(params, name, dflt) {
  const v = params.getAll(name);
  if (!v.length) return dflt;
  const s = v[v.length - 1];
  if (!/^\d+$/.test(s)) throw new HttpError(400, 'invalid', `Invalid ${name} value "${s}": expected a non-negative integer`);
  return Number(s);
}

/**
 * Parses the query into { control, filter } or throws HttpError(400).
 * filter: { lo, hi (exclusive epoch-ms bounds), ne: [[start,end]], ids: Set|null, other: [[k,v]] }
 */
export function parseQuery(params, { system, lenient }) {
  const control = {
    count: Math.min(intParam(params, '_count', DEFAULT_COUNT), MAX_COUNT),
    offset: intParam(params, '_offset', 0),
    summaryCount: params.get('_summary') === 'count',
    elements: null,
    sort: [],
    types: null,
  };
  if (params.has('_elements')) {
    control.elements = params
      .getAll('_elements')
      .flatMap((v) => v.split(','))
      .map((s) => s.trim())
      .filter(Boolean);
  }
  for (const v of params.getAll('_sort')) {
    for (const raw of v.split(',')) {
      const s = raw.trim();
      if (!s) continue;
      const desc = s.startsWith('-');
      control.sort.push({ code: desc ? s.slice(1) : s, desc });
    }
  }
  if (params.has('_type')) {
    if (!system) throw new HttpError(400, 'invalid', '_type is only supported on system search');
    control.types = [
      ...new Set(
        params
          .getAll('_type')
          .flatMap((v) => v.split(','))
          .map((s) => s.trim())
          .filter(Boolean)
      ),
    ];
  }

  const filter = { lo: -Infinity, hi: Infinity, ne: [], ids: null, other: [] };
  for (const [k, v] of params) {
    if (CONTROL.has(k) || IGNORED.has(k)) continue;
    if (k === '_lastUpdated') {
      const m = /^(eq|ne|gt|lt|ge|le|sa|eb|ap)?(.*)$/.exec(v);
      const prefix = m[1] ?? 'eq';
      const range = parseDateRange(m[2]);
      if (!range) throw new HttpError(400, 'invalid', `Invalid _lastUpdated value "${v}"`);
      switch (prefix) {
        case 'eq':
        case 'ap':
          filter.lo = Math.max(filter.lo, range.start);
          filter.hi = Math.min(filter.hi, range.end);
          break;
        case 'ge':
          filter.lo = Math.max(filter.lo, range.start);
          break;
        case 'gt':
        case 'sa':
          filter.lo = Math.max(filter.lo, range.end);
          break;
        case 'le':
          filter.hi = Math.min(filter.hi, range.end);
          break;
        case 'lt':
        case 'eb':
          filter.hi = Math.min(filter.hi, range.start);
          break;
        case 'ne':
          filter.ne.push([range.start, range.end]);
          break;
      }
      continue;
    }
    if (k === '_id') {
      const ids = new Set(
        v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      );
      filter.ids = filter.ids ? new Set([...filter.ids].filter((id) => ids.has(id))) : ids;
      continue;
    }
    filter.other.push([k, v]);
  }
  return { control, filter };
}

export class SearchEngine {
  constructor(store) {
    this.store = store;
    this.cache = new Map(); // key -> { gen, list }
    this.matcherCache = new Map();
  }

  /** A SearchRequest holding only the "other" filters, or null when there are none. */
  matcherFor(type, other, lenient) {
    if (!other.length) return null;
    const key = type + '\u0000' + JSON.stringify(other) + (lenient ? '\u0000L' : '');
    let sr = this.matcherCache.get(key);
    if (sr !== undefined) return sr;
    const query = {};
    for (const [k, v] of other) {
      const code = k.split(/[:.]/)[0];
      if (!getSearchParameter(type, code)) {
        if (lenient) continue;
        throw new HttpError(400, 'not-supported', `Unknown search parameter "${code}" for resource type ${type}`);
      }
      if (query[k] === undefined) query[k] = v;
      else query[k] = [].concat(query[k], v);
    }
    try {
      sr = Object.keys(query).length ? parseSearchRequest(type, query) : null;
    } catch (err) {
      throw new HttpError(400, 'invalid', `Invalid search: ${err.message}`);
    }
    if (sr) {
      sr.sortRules = undefined;
      sr.count = undefined;
      sr.offset = undefined;
    }
    if (this.matcherCache.size > 256) this.matcherCache.clear();
    this.matcherCache.set(key, sr);
    return sr;
  }

  /** Entries of one type matching the filter, in index order (lastUpdated, id). */
  candidates(type, filter, lenient) {
    const idx = this.store.typeIndex(type, false);
    if (!idx || idx.byId.size === 0) return [];
    const sr = this.matcherFor(type, filter.other, lenient);
    let list;
    if (filter.ids) {
      list = [];
      for (const id of filter.ids) {
        const e = idx.byId.get(id);
        if (e && e.t >= filter.lo && e.t < filter.hi) list.push(e);
      }
      list.sort(cmpEntry);
    } else {
      const v = idx.view();
      const a = filter.lo === -Infinity ? 0 : lowerBound(v, filter.lo);
      const b = filter.hi === Infinity ? v.length : lowerBound(v, filter.hi);
      list = v.slice(a, b); // a copy: the index array changes on later writes
    }
    if (filter.ne.length) list = list.filter((e) => !filter.ne.some(([s, en]) => e.t >= s && e.t < en));
    if (sr) {
      list = list.filter((e) => {
        try {
          return matchesSearchRequest(e.res, sr);
        } catch {
          return false;
        }
      });
    }
    return list;
  }

  sortList(list, sort) {
    if (!sort.length) return list;
    if (sort.length === 1 && sort[0].code === '_lastUpdated') return sort[0].desc ? list.slice().reverse() : list;
    const keyFns = sort.map(({ code, desc }) => {
      if (code === '_lastUpdated') return { desc, key: (e) => e.t };
      if (code === '_id') return { desc, key: (e) => e.id };
      const cache = new Map();
      return {
        desc,
        key: (e) => {
          let k = cache.get(e);
          if (k === undefined) {
            const sp = getSearchParameter(e.type, code);
            let vals = [];
            try {
              vals = sp?.expression ? evalFhirPath(sp.expression, e.res) : [];
            } catch {
              vals = [];
            }
            k = vals.length ? JSON.stringify(vals[0]) : '';
            cache.set(e, k);
          }
          return k;
        },
      };
    });
    return list.slice().sort((a, b) => {
      for (const { key, desc } of keyFns) {
        const ka = key(a);
        const kb = key(b);
        if (ka < kb) return desc ? 1 : -1;
        if (ka > kb) return desc ? -1 : 1;
      }
      return cmpEntry(a, b);
    });
  }

  /** The full (cached) sorted result list for a query. */
  resultList(types, parsed, lenient, system) {
    const { control, filter } = parsed;
    const key = JSON.stringify([types, filter.lo, filter.hi, filter.ne, filter.ids && [...filter.ids].sort(), filter.other.slice().sort(), control.sort, lenient]);
    const hit = this.cache.get(key);
    if (hit && hit.gen === this.store.gen) {
      this.cache.delete(key);
      this.cache.set(key, hit); // LRU refresh
      return hit.list;
    }
    let list;
    if (types.length === 1) {
      list = this.candidates(types[0], filter, lenient);
    } else {
      list = mergeSorted(types.map((t) => this.candidates(t, filter, lenient)));
    }
    list = this.sortList(list, control.sort);
    this.cache.set(key, { gen: this.store.gen, list });
    while (this.cache.size > CACHE_SIZE) this.cache.delete(this.cache.keys().next().value);
    return list;
  }

  /**
   * Runs a search. type: resource type or null for system search. params: URLSearchParams.
   * baseUrl: absolute FHIR base (e.g. http://127.0.0.1:1234/fhir). Returns the Bundle JSON text.
   */
  search({ type, params, baseUrl, lenient }) {
    const system = !type;
    const parsed = parseQuery(params, { system, lenient });
    const { control } = parsed;
    let types;
    if (system) {
      if (control.types) {
        for (const t of control.types) {
          if (!this.store.knownTypes.has(t)) throw new HttpError(400, 'invalid', `Unknown resource type "${t}" in _type`);
        }
        types = control.types;
      } else {
        types = [...this.store.index.keys()].filter((t) => this.store.index.get(t).byId.size > 0).sort();
      }
    } else {
      types = [type];
      for (const { code } of control.sort) {
        if (code !== '_lastUpdated' && code !== '_id' && !getSearchParameter(type, code)) {
          throw new HttpError(400, 'not-supported', `Unknown sort parameter "${code}" for ${type}`);
        }
      }
    }
    const list = this.resultList(types, parsed, lenient, system);
    const total = list.length;
    const path = system ? '' : `/${type}`;
    const pageUrl = (offset, count) => {
      const p = new URLSearchParams();
      for (const [k, v] of params) if (k !== '_offset' && k !== '_count') p.append(k, v);
      p.set('_count', String(count));
      p.set('_offset', String(offset));
      return `${baseUrl}${path}?${p}`;
    };
    const head = `{"resourceType":"Bundle","id":"${randomUUID()}","meta":{"lastUpdated":"${new Date().toISOString()}"},"type":"searchset","total":${total}`;
    if (control.summaryCount || control.count === 0) {
      const p = new URLSearchParams(params);
      const self = `${baseUrl}${path}${p.size ? '?' + p : ''}`;
      return `${head},"link":[{"relation":"self","url":${JSON.stringify(self)}}]}`;
    }
    const { offset, count } = control;
    const links = [{ relation: 'self', url: pageUrl(offset, count) }];
    if (offset + count < total) links.push({ relation: 'next', url: pageUrl(offset + count, count) });
    if (offset > 0) links.push({ relation: 'previous', url: pageUrl(Math.max(0, offset - count), count) });
    const page = list.slice(offset, offset + count);
    const parts = new Array(page.length);
    for (let i = 0; i < page.length; i++) {
      const e = page[i];
      const res = control.elements ? subset(e.res, control.elements) : e.res;
      parts[i] = `{"fullUrl":${JSON.stringify(`${baseUrl}/${e.type}/${e.id}`)},"resource":${JSON.stringify(res)},"search":{"mode":"match"}}`;
    }
    return `${head},"link":${JSON.stringify(links)}${parts.length ? `,"entry":[${parts.join(',')}]` : ''}}`;
  }
}

function subset(res, elements) {
  const out = { resourceType: res.resourceType, id: res.id };
  if (res.meta) out.meta = { ...res.meta };
  for (const el of elements) if (res[el] !== undefined) out[el] = res[el];
  out.meta = out.meta ?? {};
  out.meta.tag = [
    ...(out.meta.tag ?? []),
    { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED' },
  ];
  return out;
}
