#!/usr/bin/env node
// fhir-server.mjs — loopback FHIR R4 test server for fhir-migrate.
//
// Medplum's FhirRouter + MemoryRepository (@medplum/* 4.5.2, pinned in package.json) behind a
// node:http adapter, plus emulations of Bulk Data $export and Azure-style $import, fault switches
// and test hooks. Node >= 20.19 (Medplum 4.5.2's engines field). Install once: `npm ci` here.
//
// FILES (tests/servers/)
//   fhir-server.mjs  entry point: args, listen, signals    app.mjs         routing / REST adapter
//   store.mjs        MemoryRepository subclass: index, history, tombstones, transaction journal
//   search.mjs       search engine                          capability.mjs  CapabilityStatement
//   export.mjs       $export emulation                      import.mjs      $import emulation
//   util.mjs         HTTP / FHIR helpers                    bench.mjs       load + paging throughput
//   smoke.sh         end-to-end smoke test (curl, jq)       server.test.mjs node:test suite covering
//   package.json, package-lock.json: exact pins              every switch (node --test tests/servers/)
//     @medplum/fhir-router|core|definitions 4.5.2, azurite 3.35.0
//
// START
//   node tests/servers/fhir-server.mjs --port 0 --host 127.0.0.1 --name src
//     --port N   0 = ephemeral (default 0)      --host  must be 127.0.0.1 (anything else: exit 2)
//     --name S   label used in stderr logs       --verbose  log every request to stderr
//   stdout gets exactly one line once listening:  LISTENING <port>
//   Base URL: http://127.0.0.1:<port>/fhir . SIGTERM / SIGINT close the server and exit 0.
//   1M small resources take ~0.9 GB RSS and fit the default V8 heap (~4 GB here); for more or
//   bigger resources start node with --max-old-space-size=8192.
//
// FHIR ROUTES (base /fhir; JSON bodies; responses application/fhir+json; errors are OperationOutcome)
//   GET  /fhir/metadata                 CapabilityStatement (R4 4.0.1): every resource type with
//                                       interactions + _lastUpdated/_id; rest.operation export,
//                                       patient-export, group-export, import
//   GET  /fhir/:type/:id                read (ETag W/"vid", Last-Modified); 404 when missing/deleted
//   GET  /fhir/:type/:id/_history[/:vid]  history (newest first; Medplum readHistory bug fixed) / vread
//   POST /fhir/:type                    create → 201 + Location .../_history/vid (keeps client id and
//                                       meta.versionId/lastUpdated, Medplum behaviour)
//   PUT  /fhir/:type/:id                update → 200; create-by-update → 201 + Location. Medplum gives
//                                       every PUT a new UUID versionId and lastUpdated=now
//   PUT|DELETE|PATCH /fhir/:type?query  conditional update/delete/patch (router)
//   DELETE /fhir/:type/:id              200; the adapter keeps a tombstone (for $export deleted[])
//   PATCH  /fhir/:type/:id              JSON Patch
//   POST /fhir                          batch / transaction Bundle. Transactions are atomic (writes
//                                       journaled and undone on failure); Medplum limit: 50 PUTs.
//                                       BATCH STATUS FORMAT: every entry.response.status is
//                                       "<code> <reason>", e.g. "201 Created", "200 OK",
//                                       "400 Bad Request" (PUT-creates report "201 Created");
//                                       successful writes carry location Type/id/_history/vid,
//                                       etag W/"vid" and lastModified.
//   GET  /fhir/:type?params, POST /fhir/:type/_search (form body)    type search
//   GET  /fhir?params                   system search over all types; _type=A,B restricts types
//     Search (own engine, filter+sort once per query, cached until the next write, only the page is
//     serialized): _count (default 20, max 1000; 0 = count only), _offset, _sort=_lastUpdated |
//     -_lastUpdated | _id | other params (order: lastUpdated, then id, then type; the descending
//     order is the exact mirror), _lastUpdated with eq/ne/gt/ge/lt/le/sa/eb prefixes, repeatable
//     (AND; dates compare by their precision range, so ge2020&lt2021 = the year 2020), _id=a,b,
//     _summary=count (total only), _total (ignored: total is always given), _elements (top level).
//     Other parameters are matched with @medplum/core's matchesSearchRequest (unknown ones → 400,
//     or ignored with "Prefer: handling=lenient"; _include/_revinclude are ignored). Bundle.total
//     always; links self/next/previous are absolute, offset based (_count + _offset), built from
//     the request's Host header.
//
// BULK DATA $export (Bulk Data v2 + STU3 _until + Azure _till / includeAssociatedData)
//   GET|POST /fhir/$export, /fhir/Patient/$export, /fhir/Group/:id/$export   kick-off; needs
//     "Prefer: respond-async" (else 400). Params (query, or Parameters body for POST): _since (ge),
//     _till / _until (upper bound: strict lt by default; le with switch upperBoundInclusive;
//     ignored with ignoreUpperBound), _type, _outputFormat (application/fhir+ndjson,
//     application/ndjson, ndjson), includeAssociatedData=_history (every stored version) and/or
//     _deleted (deleted resources as soft-deleted versions with the Azure deleted-state
//     extension: with _history every deletion in the window, also of resources created again
//     since; without it the newest deletion of each resource deleted now; a resource deleted now
//     is listed in deleted[] instead, so these versions reach output[] only for resources created
//     again, or with deletedInOutputOnly), patient (Patient/Group level), _typeFilter
//     ("Type?query", repeatable or
//     comma-separated; the query's parameters are matched like a search, with @medplum/core's
//     matchesSearchRequest, e.g. Observation?status=final or MedicationRequest?status=active;
//     several filters of one type are OR'ed; types without a filter are unfiltered; it narrows
//     output[] only, not deleted[]; a bad type or parameter → 400, a warning when lenient).
//     _elements, organizeOutputBy, allowPartialManifests, _maxCount are ignored with a warning
//     in error[]. Unknown params → 400 (warning with "Prefer: handling=lenient"). Every kick-off
//     is recorded in stats.kickoffs (see $admin/stats). Group members come from Group.member.entity;
//     the Patient compartment is Patient plus resources whose subject/patient references one.
//     The snapshot is taken at kick-off: transactionTime = kick-off instant; resources with
//     lastUpdated <= transactionTime are included. → 202 + Content-Location (absolute).
//   GET /fhir/$export-status/:id        202 + X-Progress + Retry-After while running (exportPolls
//                                       polls, default 1), then 200 application/json manifest:
//                                       transactionTime, request, requiresAccessToken, output[]
//                                       {type,url,count} (files of maxLinesPerFile lines, default
//                                       1000, named <Type>-<n>.ndjson), error[], deleted[] (NDJSON
//                                       of transaction Bundles with one DELETE entry each, for
//                                       resources deleted in [_since, upper) that do not exist now).
//                                       A resource in deleted[] is never in output[], none of its
//                                       versions (Bulk Data IG: it SHALL NOT be in both)
//   DELETE /fhir/$export-status/:id     202, later 404
//   GET /fhir/$export-file/:jobId/:name.ndjson  application/fhir+ndjson; Range → 206 (416 when
//                                       unsatisfiable); gzip when Accept-Encoding has gzip. With
//                                       ?sig=<presigned signature> (redirectFiles) no token is
//                                       needed (bearerToken, hmacTokens, exportRequiresToken)
//
// AZURE-STYLE $import
//   POST /fhir/$import                  Parameters: inputFormat (application/fhir+ndjson), mode
//     IncrementalLoad (default; keeps id, meta.versionId, meta.lastUpdated, versions go to history
//     in lastUpdated order and the newest is current; a version carrying the Azure deleted-state
//     extension deletes; a delete newer than every version keeps the resource deleted) | InitialLoad (new versionId and lastUpdated=now); input
//     parts type + url (valueUri/valueString/valueUrl). Needs "Prefer: respond-async".
//     → 202 + Content-Location /fhir/_operations/import/:id. The same payload returns the same job
//     (running, finished or failed: Microsoft's FHIR server matches job definitions the same way).
//     Inputs are fetched with node:http(s) (any URL; no credentials sent, gzip accepted, redirects
//     followed), parsed line by line; bad lines (invalid JSON, missing resourceType, type not the
//     input's type, unknown type, bad id/meta) become OperationOutcomes whose diagnostics name the
//     line number.
//   GET /fhir/_operations/import/:id    202 (X-Progress, Retry-After) while running and for
//                                       importPolls polls (default 1), then 200 application/json
//                                       {transactionTime, request, output:[{type,count,inputUrl}],
//                                       error:[{type:"OperationOutcome",count,inputUrl,url}]};
//                                       400 OperationOutcome when an input could not be fetched
//   DELETE /fhir/_operations/import/:id 202 (cancel), later 404
//   GET /fhir/$import-errors/:id/:n.ndjson  error NDJSON of input n (1-based)
//
// TEST HOOKS (never need a token)
//   POST /fhir/$admin/load              NDJSON body, streamed line by line: stores each resource
//                                       keeping id and meta (versionId, lastUpdated) exactly →
//                                       {"loaded":N,"errors":[{line,error}]} (first 1000 errors;
//                                       errorCount when more)
//   POST /fhir/$admin/reset             wipes resources, history, tombstones, import jobs and
//                                       counters. Export jobs (and their files) are kept, so a test
//                                       can export, reset and $import its own files; fault switches
//                                       stay (clear them with faults {})
//   GET  /fhir/$admin/versions          {versions:{"<Type>/<id>":n}}: how many versions the server
//                                       stored of every resource it holds or held (its own history,
//                                       what GET /fhir/<Type>/<id>/_history totals), for all at once
//   GET  /fhir/$admin/stats             {requests:{"<METHOD> <route>":n}, exportKickoffs,
//                                       exportJobs, importKickoffs, importJobs, loadedViaAdmin,
//                                       kickoffs:[{method, path, level, groupId?, query, body,
//                                       params:{name:[values]}}] (each kick-off that got past the
//                                       token and Prefer checks), tokenRejections, resources:{type:n},
//                                       totalResources, tombstones, faults, failedJobPolls (status
//                                       polls answered for jobs failed by exportJobFails),
//                                       batchesHeld (Bundles applied whose answer holdBatchMs still
//                                       holds), batchesHeldTotal, lastHeldBundle (["Type/id"] of the
//                                       newest held Bundle's entries), ...}
//                                       kickoffs: the last 50 $export kick-offs, oldest first:
//                                       {method, path ("/fhir/Patient/$export"), level (system |
//                                       patient | group), groupId, query ([[name, value]] as sent),
//                                       body (the POSTed Parameters, else null), params ({name:
//                                       [values]} merged from query and body, list params split)}
//                                       tokenRejections: the last 1000 401s of bearerToken /
//                                       hmacTokens: {method, path, reason (missing | invalid |
//                                       expired), nonce (of an hmacTokens token)}
//   POST /fhir/$admin/faults            JSON object replacing all switches ({} clears);
//                                       unknown names/wrong types → 400. GET returns them.
//
// SWITCHES (POST /fhir/$admin/faults). Counters (N) decrement as they fire.
//   Retry-After values are retryAfterSeconds (default 1) unless a switch says otherwise.
//   kickoff429: N           next N $export kick-offs → 429 + Retry-After, OperationOutcome throttled
//                           "An export is already running for this client; ..."
//   kickoff503: N           next N $export kick-offs → 503 + Retry-After, OperationOutcome transient
//   kickoff500: N           next N $export kick-offs → 500, OperationOutcome processing (not transient:
//                           the request failed for good)
//   kickoff400: N           next N $export kick-offs → 400, OperationOutcome not-supported
//   exportJobFails: N       the next N export jobs fail for good: once their 202 polls are over, every
//                           status poll answers 500 + OperationOutcome processing "Export job <id>
//                           failed: ..." (counted in stats.failedJobPolls)
//   purgeExportJobs: N      the next N export jobs are purged after their first 202 poll (at their
//                           first poll when they have none): the status URL answers 404
//   exportErrors: ["Patient/abc", ...]  these resources cannot be exported: left out of output[]
//                           (every version), each reported in error[] by an OperationOutcome
//                           {severity error, code processing, diagnostics "Failed to export
//                           Patient/abc: ...", expression ["Patient/abc"]}, next to the good files
//   manifestWithoutCount: true  manifest output/error/deleted items carry no count
//   retryAfterHttpDate: true  Retry-After on kick-offs and export/import status polls is an
//                           HTTP-date (now + retryAfterSeconds) instead of seconds
//   exportStatus429: N      next N export status polls → 429 + Retry-After
//   exportTransient500: N   next N export status polls → 500, OperationOutcome issue.code transient
//   slowExportPolls: N      export status stays 202 for N polls (instead of exportPolls)
//   exportPolls: N          202 polls before an export completes (default 1)
//   retryAfterSeconds: S    Retry-After on export/import status polls (default 1)
//   download429: N          next N export file downloads → 429 + Retry-After: 1
//   download500: N          next N export file downloads → 500 OperationOutcome exception
//   download502Html: N      next N export file downloads → 502 with a proxy's text/html page (not FHIR)
//   truncateFile: N         next N downloads send the full Content-Length, then half the bytes
//                           (cut mid-line) and the socket is destroyed
//   shortFile: N            next N downloads answer 200 with every line of the file but the last
//                           (a clean transfer whose line count falls short of the manifest count)
//   expireFiles: true       file URLs answer 410 until the status URL is re-read: the first
//                           download of a job answers 410, and only URLs from a manifest read
//                           after that work (they carry ?gen=N)
//   maxLinesPerFile: N      lines per export file (default 1000)
//   ignoreUpperBound: true  ignore _till/_until
//   upperBoundInclusive: true  _till/_until are le (inclusive) instead of lt
//   historyNewestFirst: true  with includeAssociatedData=_history, each type's versions are listed
//                           newest first (default: oldest first, by lastUpdated then id)
//   deletedInOutputOnly: true  as Azure: deleted[] stays empty; deletions appear only as soft-deleted
//                           versions in output[] when includeAssociatedData has _deleted
//   exportRequiresToken: true  kick-off, status and files need "Authorization: Bearer <accessToken>"
//                           (401 otherwise); manifest requiresAccessToken: true
//   accessToken: "s"        token for exportRequiresToken (default "test-token")
//   bearerToken: "s"        every /fhir route except $admin needs "Authorization: Bearer s"
//                           (manifest requiresAccessToken: true)
//   hmacTokens: "secret"    every /fhir route except $admin needs a bearer token issued for
//                           `secret` and not yet expired: "<expiry epoch ms>.<nonce>.<hex
//                           HMAC-SHA256(secret, "<expiry epoch ms>.<nonce>")>" (a test's token
//                           endpoint mints them; the server needs no list of issued tokens).
//                           401 + a tokenRejections record otherwise; manifest
//                           requiresAccessToken: true
//   offOriginStatus: "http://127.0.0.1:P"  kick-off Content-Location points at that origin
//                           (<origin>/fhir/$export-status/:id) instead of this server
//   offOriginFiles: "http://127.0.0.1:P"   manifest output/error/deleted URLs point at that origin
//   redirectFiles: "http://127.0.0.1:P"    file downloads answer 302 to <origin>/fhir/$export-file/
//                           :jobId/:name?sig=<presigned> (a request there that reaches this
//                           server, e.g. through a forwarding test listener, needs no token)
//   downloadDelayMs: N      every file download waits N ms before answering
//   import423: N            next N $import kick-offs → 423 (OperationOutcome lock-error)
//   import413: N            next N $import kick-offs → 413
//   importTransient500: N   next N $import requests (kick-off or status) → 500 issue.code transient
//   slowImportPolls: N      import status stays 202 for at least N polls
//   importPolls: N          202 polls before a finished import reports 200 (default 1)
//   importDrop: N           the next N resources an import job would store are silently dropped:
//                           not stored, not in error[]; output[].count counts only what was stored
//   importFailJob: N        the next N import jobs fail after reading their inputs (nothing stored);
//                           their status URL answers 400 OperationOutcome "Import failed: ..."
//   importFailAfter: N      the next import job stores its first N resources, then fails (status 400
//                           OperationOutcome "Import failed: the job stopped after importing N
//                           resources: ..."); what it stored stays, as on Azure. Used up by that job
//   (search faults hit result pages only, never _summary=count / _count=0 probes)
//   searchPage500: N        next N searches → 500
//   search429: N            next N searches → 429 + Retry-After: 1
//   badJsonSearchPage: N    next N searches → 200 with a body that is not valid JSON
//   searchDelayMs: N        every result page is answered N ms late (a long run, e.g. to outlive
//                           short-lived tokens)
//   putReject: ["Patient/abc", ...]  PUTs of these targets → 400 OperationOutcome "... rejected by
//                           fault switch" (batch entries; a transaction containing one fails whole;
//                           direct PUTs too)
//   batch429: N             next N batch/transaction Bundles (POST /fhir) → 429 as a whole, nothing
//                           applied, OperationOutcome throttled, Retry-After
//   batch503: N             next N batch/transaction Bundles → 503 as a whole, nothing applied,
//                           OperationOutcome transient, Retry-After
//   batchWithoutRetryAfter: true  batch429 / batch503 answers carry no Retry-After
//   holdBatchMs: N          every batch/transaction Bundle is applied, then its answer is held N ms
//                           (stats.batchesHeld): a client killed meanwhile loaded what it never
//                           heard of

import http from 'node:http';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  process.stderr.write(
    `fhir-server: Node ${process.versions.node} is too old; @medplum 4.5.2 needs Node ^20.19.0 || >=22.12.0\n`
  );
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { port: 0, host: '127.0.0.1', name: 'fhir', verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--port') opts.port = Number(val());
    else if (a === '--host') opts.host = val();
    else if (a === '--name') opts.name = val();
    else if (a === '--verbose') opts.verbose = true;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) throw new Error('--port must be 0..65535');
  if (opts.host !== '127.0.0.1') throw new Error(`--host must be 127.0.0.1 (got "${opts.host}"); this server binds loopback only`);
  return opts;
}

let opts;
try {
  opts = parseArgs(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`fhir-server: ${err.message}\n`);
  process.exit(2);
}

const log = (msg) => process.stderr.write(`[${opts.name}] ${msg}\n`);
let createApp;
try {
  ({ createApp } = await import('./app.mjs'));
} catch (err) {
  if (err?.code === 'ERR_MODULE_NOT_FOUND' && /@medplum/.test(err.message)) {
    process.stderr.write(`fhir-server: @medplum packages are not installed; run "npm ci" in ${import.meta.dirname ?? 'tests/servers'}\n`);
    process.exit(2);
  }
  throw err;
}
const t0 = Date.now();
const app = createApp({ name: opts.name, log });
log(`definitions indexed in ${Date.now() - t0} ms`);

const server = http.createServer({ requestTimeout: 0, keepAliveTimeout: 5000 }, (req, res) => {
  if (opts.verbose) {
    const start = Date.now();
    res.on('finish', () => log(`${req.method} ${req.url} ${res.statusCode} ${Date.now() - start}ms`));
  }
  app.handle(req, res, server.address()?.port);
});

server.on('error', (err) => {
  log(`server error: ${err.message}`);
  process.exit(1);
});

server.listen(opts.port, opts.host, () => {
  const { port } = server.address();
  process.stdout.write(`LISTENING ${port}\n`);
  log(`listening on http://${opts.host}:${port}/fhir`);
});

let closing = false;
function shutdown(sig) {
  if (closing) return;
  closing = true;
  log(`${sig}: closing`);
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
