// Store: Medplum's MemoryRepository extended with what the test server needs.
//  - a per-type index (Map id -> entry, plus an array sorted by (lastUpdated, id, type)) kept
//    up to date on every write, so search/paging/export never walk Medplum's deep-cloning search;
//  - tombstones (type, id, deletedAt, soft-deleted version) for deletes made through the router
//    or imported as soft-deleted versions;
//  - version history that keeps the order of meta.lastUpdated (for imported historical versions);
//  - a write journal so that transaction Bundles are atomic (withTransaction undoes on failure);
//  - a write log so the HTTP adapter can tell a PUT-create from a PUT-update;
//  - readHistory without Medplum 4.5.2's in-place reverse() bug.
// All writes are made under `store.lock` (see fhir-server.mjs), so the journal is never shared.

import { randomUUID } from 'node:crypto';
import { MemoryRepository } from '@medplum/fhir-router';
import { getResourceTypes, OperationOutcomeError, notFound } from '@medplum/core';
import { Lock } from './util.mjs';

export const DELETED_STATE_URL = 'http://azurehealthcareapis.com/data-extensions/deleted-state';
const ID_RE = /^[A-Za-z0-9\-.]{1,64}$/;

export function toMs(lastUpdated) {
  const t = Date.parse(lastUpdated);
  return Number.isFinite(t) ? t : 0;
}

/** Order of the index: lastUpdated, then id, then type (deterministic ties). */
export function cmpEntry(a, b) {
  if (a.t !== b.t) return a.t - b.t;
  if (a.id !== b.id) return a.id < b.id ? -1 : 1;
  if (a.type !== b.type) return a.type < b.type ? -1 : 1;
  return 0;
}

function makeEntry(res) {
  return { type: res.resourceType, id: res.id, t: toMs(res.meta?.lastUpdated), res, alive: true };
}

export function isSoftDeleted(meta) {
  return (
    Array.isArray(meta?.extension) &&
    meta.extension.some((e) => e?.url === DELETED_STATE_URL && e.valueString === 'soft-deleted')
  );
}

export function nextVersionId(prev) {
  if (prev === undefined || prev === null) return '1';
  if (/^\d+$/.test(String(prev))) return String(Number(prev) + 1);
  return randomUUID();
}

class TypeIndex {
  constructor(type) {
    this.type = type;
    this.byId = new Map();
    this.sorted = [];
    this.unsorted = false;
    this.dead = 0;
  }
  add(entry) {
    const s = this.sorted;
    if (!this.unsorted && s.length && cmpEntry(s[s.length - 1], entry) > 0) this.unsorted = true;
    s.push(entry);
    this.byId.set(entry.id, entry);
  }
  remove(id) {
    const e = this.byId.get(id);
    if (!e) return;
    e.alive = false;
    this.dead++;
    this.byId.delete(id);
  }
  /** The live entries sorted by (lastUpdated, id); compacts and sorts lazily. */
  view() {
    if (this.dead) {
      this.sorted = this.sorted.filter((e) => e.alive);
      this.dead = 0;
    }
    if (this.unsorted) {
      this.sorted.sort(cmpEntry);
      this.unsorted = false;
    }
    return this.sorted;
  }
}

export class Store extends MemoryRepository {
  constructor() {
    super();
    this.knownTypes = new Set(getResourceTypes());
    this.index = new Map(); // type -> TypeIndex
    this.tombstones = []; // {type, id, t, deletedAt, version}
    this.tombKeys = new Set();
    this.lastTomb = new Map(); // "type/id" -> newest tombstone time (ms)
    this.journal = null;
    this.writeLog = null;
    this.gen = 0; // bumped on every write (search cache invalidation)
    this.lock = new Lock();
  }

  typeIndex(type, create = true) {
    let idx = this.index.get(type);
    if (!idx && create) {
      idx = new TypeIndex(type);
      this.index.set(type, idx);
    }
    return idx;
  }

  current(type, id) {
    return this.resources.get(type)?.get(id);
  }

  versions(type, id) {
    return this.history.get(type)?.get(id);
  }

  counts() {
    const out = {};
    for (const [type, idx] of this.index) if (idx.byId.size) out[type] = idx.byId.size;
    return out;
  }

  clear() {
    super.clear();
    this.index.clear();
    this.tombstones = [];
    this.tombKeys.clear();
    this.lastTomb.clear();
    this.gen++;
  }

  // ---- hooks on Medplum's write paths -------------------------------------------------------

  async createResource(resource, options) {
    const type = resource.resourceType;
    const before = resource.id ? this.current(type, resource.id) : undefined;
    const histBefore = resource.id ? (this.versions(type, resource.id)?.length ?? 0) : 0;
    const result = await super.createResource(resource, options);
    const stored = this.current(type, result.id);
    const idx = this.typeIndex(type);
    idx.remove(result.id);
    idx.add(makeEntry(stored));
    this.gen++;
    this.journal?.push({ type, id: result.id, before, histBefore, tomb: false });
    this.writeLog?.push({ type, id: result.id, versionId: stored.meta?.versionId, created: !before });
    return result;
  }

  async deleteResource(type, id) {
    const before = this.current(type, id);
    if (!before) throw new OperationOutcomeError(notFound);
    const histBefore = this.versions(type, id)?.length ?? 0;
    await super.deleteResource(type, id);
    this.typeIndex(type).remove(id);
    const deletedAt = new Date().toISOString();
    const version = {
      ...before,
      meta: {
        ...before.meta,
        versionId: nextVersionId(before.meta?.versionId),
        lastUpdated: deletedAt,
        extension: [...(before.meta?.extension ?? []), { url: DELETED_STATE_URL, valueString: 'soft-deleted' }],
      },
    };
    this.addTombstone(type, id, toMs(deletedAt), deletedAt, version);
    this.gen++;
    this.journal?.push({ type, id, before, histBefore, tomb: true });
  }

  addTombstone(type, id, t, deletedAt, version) {
    const key = `${type}/${id}@${t}`;
    if (this.tombKeys.has(key)) return false;
    this.tombKeys.add(key);
    this.tombstones.push({ type, id, t, deletedAt, version });
    const k = `${type}/${id}`;
    if (!(this.lastTomb.get(k) >= t)) this.lastTomb.set(k, t);
    return true;
  }

  async readHistory(type, id) {
    await this.readResource(type, id); // 404 when missing/deleted
    const versions = (this.versions(type, id) ?? []).map((r, i) => ({ r, i, t: toMs(r.meta?.lastUpdated) }));
    versions.sort((a, b) => b.t - a.t || b.i - a.i); // newest first, without mutating the store
    return {
      resourceType: 'Bundle',
      type: 'history',
      total: versions.length,
      ...(versions.length ? { entry: versions.map((v) => ({ resource: structuredClone(v.r) })) } : undefined),
    };
  }

  /** Transactions: journal every write, undo all of them when the callback fails. */
  async withTransaction(callback) {
    if (this.journal) return callback(undefined); // nested: the outer one journals
    const journal = (this.journal = []);
    try {
      const result = await callback(undefined);
      return result;
    } catch (err) {
      this.undo(journal);
      throw err;
    } finally {
      this.journal = null;
    }
  }

  undo(journal) {
    for (let k = journal.length - 1; k >= 0; k--) {
      const j = journal[k];
      let map = this.resources.get(j.type);
      if (!map) this.resources.set(j.type, (map = new Map()));
      const idx = this.typeIndex(j.type);
      idx.remove(j.id);
      if (j.before) {
        map.set(j.id, j.before);
        idx.add(makeEntry(j.before));
      } else {
        map.delete(j.id);
      }
      const h = this.versions(j.type, j.id);
      if (h) {
        h.length = j.histBefore;
        if (!h.length) this.history.get(j.type).delete(j.id);
      }
      if (j.tomb) {
        const tomb = this.tombstones.pop();
        if (tomb) {
          this.tombKeys.delete(`${tomb.type}/${tomb.id}@${tomb.t}`);
          const k = `${tomb.type}/${tomb.id}`;
          const prev = this.tombstones.filter((x) => x.type === tomb.type && x.id === tomb.id).map((x) => x.t);
          if (prev.length) this.lastTomb.set(k, Math.max(...prev));
          else this.lastTomb.delete(k);
        }
      }
    }
    this.gen++;
  }

  // ---- bulk load path ($admin/load, $import) ------------------------------------------------

  /**
   * Stores one resource without the router. keepMeta: keep id, meta.versionId and meta.lastUpdated
   * (assigning them only when absent); otherwise (InitialLoad) assign a new versionId and lastUpdated=now.
   * Versions are kept in history in lastUpdated order; the newest becomes current. A newest version
   * marked soft-deleted (Azure deleted-state extension) deletes the resource and leaves a tombstone;
   * a recorded delete newer than the newest version keeps the resource deleted.
   * Throws Error(message) for an unusable resource. Must run under `lock`.
   */
  loadResource(r, { keepMeta = true } = {}) {
    if (!r || typeof r !== 'object' || Array.isArray(r)) throw new Error('line is not a JSON object');
    const type = r.resourceType;
    if (typeof type !== 'string' || !type) throw new Error('missing resourceType');
    if (!this.knownTypes.has(type)) throw new Error(`unknown resourceType "${type}"`);
    if (r.id === undefined || r.id === null || r.id === '') r.id = this.generateId();
    else if (typeof r.id !== 'string' || !ID_RE.test(r.id)) throw new Error(`invalid id "${r.id}"`);
    const id = r.id;
    if (r.meta !== undefined && (typeof r.meta !== 'object' || r.meta === null || Array.isArray(r.meta))) {
      throw new Error('meta is not an object');
    }
    const meta = r.meta ?? (r.meta = {});

    let byId = this.history.get(type);
    if (!byId) this.history.set(type, (byId = new Map()));
    let hist = byId.get(id);
    const latest = hist?.[hist.length - 1];

    if (!keepMeta) {
      meta.versionId = nextVersionId(latest?.meta?.versionId);
      meta.lastUpdated = new Date().toISOString();
    } else {
      if (meta.versionId === undefined || meta.versionId === null || meta.versionId === '') {
        meta.versionId = nextVersionId(latest?.meta?.versionId);
      } else if (typeof meta.versionId !== 'string') {
        meta.versionId = String(meta.versionId);
      }
      if (!meta.lastUpdated) meta.lastUpdated = new Date().toISOString();
      else if (typeof meta.lastUpdated !== 'string' || !Number.isFinite(Date.parse(meta.lastUpdated))) {
        throw new Error(`invalid meta.lastUpdated "${meta.lastUpdated}"`);
      }
    }
    const t = toMs(meta.lastUpdated);

    if (!hist) {
      byId.set(id, (hist = [r]));
    } else {
      const same = hist.findIndex((v) => v.meta?.versionId === meta.versionId);
      if (same >= 0) hist.splice(same, 1);
      let pos = hist.length;
      while (pos > 0 && toMs(hist[pos - 1].meta?.lastUpdated) > t) pos--;
      hist.splice(pos, 0, r);
    }

    const newest = hist[hist.length - 1];
    let map = this.resources.get(type);
    if (!map) this.resources.set(type, (map = new Map()));
    const cur = map.get(id);
    const idx = this.typeIndex(type);
    if (isSoftDeleted(newest.meta)) {
      if (cur) {
        map.delete(id);
        idx.remove(id);
      }
      this.addTombstone(type, id, toMs(newest.meta.lastUpdated), newest.meta.lastUpdated, newest);
    } else if (this.lastTomb.get(`${type}/${id}`) > toMs(newest.meta.lastUpdated)) {
      // A delete newer than every stored version: the resource stays deleted.
      if (cur) {
        map.delete(id);
        idx.remove(id);
      }
    } else if (cur !== newest) {
      map.set(id, newest);
      if (cur) idx.remove(id);
      idx.add(makeEntry(newest));
    }
    this.gen++;
    return r;
  }
}
