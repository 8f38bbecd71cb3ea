#!/usr/bin/env bash
# Smoke test of the loopback FHIR test server (fhir-server.mjs): starts it on an ephemeral port,
# exercises load/search/paging/PUT/batch/$export/$import/faults, stops it with SIGTERM.
# Needs node (>= 20.19), curl, jq, gzip. Exit status non-zero on the first failure.
set -euo pipefail

DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
for tool in node curl jq gzip; do
  command -v "$tool" >/dev/null || { echo "smoke: missing tool: $tool" >&2; exit 2; }
done
if [ ! -d "$DIR/node_modules/@medplum/fhir-router" ]; then
  (cd "$DIR" && npm ci --no-audit --no-fund >/dev/null)
fi

TMP="$(mktemp -d)"
PASSED=0
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  echo "--- server stderr (tail) ---" >&2
  tail -n 20 "$TMP/server.err" >&2 || true
  echo "smoke: $PASSED passed, 1 failed"
  exit 1
}
ok() {
  PASSED=$((PASSED + 1))
  echo "ok $PASSED - $*"
}
# expect DESCRIPTION ACTUAL EXPECTED
expect() {
  if [ "$2" == "$3" ]; then ok "$1"; else fail "$1: expected '$3', got '$2'"; fi
}

node "$DIR/fhir-server.mjs" --port 0 --host 127.0.0.1 --name smoke >"$TMP/server.out" 2>"$TMP/server.err" &
SERVER_PID=$!
for _ in $(seq 1 150); do
  grep -q '^LISTENING ' "$TMP/server.out" 2>/dev/null && break
  kill -0 "$SERVER_PID" 2>/dev/null || fail "server exited during startup"
  sleep 0.1
done
PORT="$(awk '/^LISTENING /{print $2}' "$TMP/server.out")"
[ -n "$PORT" ] || fail "no LISTENING line within 15 s"
expect "stdout is exactly one LISTENING line" "$(wc -l <"$TMP/server.out" | tr -d ' ')" "1"
B="http://127.0.0.1:$PORT/fhir"
FJ='Content-Type: application/fhir+json'

# curl wrapper: body to $TMP/body, headers to $TMP/headers, prints the status code.
req() {
  curl -sS -o "$TMP/body" -D "$TMP/headers" -w '%{http_code}' "$@"
}
header() { grep -i "^$1:" "$TMP/headers" | head -n1 | cut -d' ' -f2- | tr -d '\r'; }
body() { jq -r "$1" "$TMP/body"; }

# --- metadata -------------------------------------------------------------------------------
expect "GET metadata" "$(req "$B/metadata")" 200
expect "metadata fhirVersion" "$(body .fhirVersion)" "4.0.1"
expect "metadata lists export+import operations" \
  "$(body '[.rest[0].operation[].name] | (index("export") != null) and (index("import") != null)')" true
expect "metadata lists Observation with _lastUpdated" \
  "$(body '.rest[0].resource[] | select(.type=="Observation") | [.searchParam[].name] | index("_lastUpdated") != null')" true

# --- $admin/load with historical meta ---------------------------------------------------------
cat >"$TMP/seed.ndjson" <<'EOF'
{"resourceType":"Patient","id":"pa","meta":{"versionId":"1","lastUpdated":"2020-01-01T00:00:00.000Z"},"gender":"female"}
{"resourceType":"Patient","id":"pb","meta":{"versionId":"2","lastUpdated":"2021-06-15T12:00:00.000Z"},"gender":"male"}
{"resourceType":"Observation","id":"oc","meta":{"versionId":"7","lastUpdated":"2022-03-01T08:30:00.000Z"},"status":"final","code":{"text":"x"},"subject":{"reference":"Patient/pa"}}
this is not json
EOF
expect "admin load" "$(req -X POST --data-binary @"$TMP/seed.ndjson" -H 'Content-Type: application/fhir+ndjson' "$B/\$admin/load")" 200
expect "admin load count" "$(body .loaded)" 3
expect "admin load reports bad line 4" "$(body '.errors[0].line')" 4

expect "read keeps versionId" "$(req "$B/Patient/pa")" 200
expect "read ETag" "$(header ETag)" 'W/"1"'
expect "read Last-Modified" "$(header Last-Modified)" "Wed, 01 Jan 2020 00:00:00 GMT"
expect "read lastUpdated kept" "$(body .meta.lastUpdated)" "2020-01-01T00:00:00.000Z"
expect "read content type" "$(header Content-Type)" "application/fhir+json; charset=utf-8"
expect "read missing" "$(req "$B/Patient/nope")" 404
expect "read missing is OperationOutcome" "$(body .resourceType)" OperationOutcome

# --- search with _lastUpdated bounds ---------------------------------------------------------
expect "search window" "$(req "$B/Patient?_lastUpdated=ge2020-01-01T00:00:00Z&_lastUpdated=lt2021-01-01T00:00:00Z")" 200
expect "search window total" "$(body .total)" 1
expect "search window id" "$(body '.entry[0].resource.id')" pa
req "$B/Patient?_lastUpdated=gt2020-01-01T00:00:00.000Z" >/dev/null
expect "search gt excludes bound" "$(body '[.entry[].resource.id] | join(",")')" pb
req "$B/Patient?_lastUpdated=le2021-06-15T12:00:00.000Z&_lastUpdated=ge2021" >/dev/null
expect "search le includes bound" "$(body '[.entry[].resource.id] | join(",")')" pb
req "$B?_summary=count&_lastUpdated=ge2021" >/dev/null
expect "system _summary=count" "$(body .total)/$(body '.entry // [] | length')" "2/0"
req "$B?_sort=-_lastUpdated&_count=1" >/dev/null
expect "system newest" "$(body '.entry[0].resource.id')" oc
req "$B?_type=Patient&_count=5" >/dev/null
expect "system _type filter" "$(body .total)" 2

# --- paging links ----------------------------------------------------------------------------
req "$B/Patient?_count=1&_sort=_lastUpdated" >/dev/null
expect "page 1 total" "$(body .total)" 2
expect "page 1 entry" "$(body '.entry[0].resource.id')" pa
NEXT="$(body '.link[] | select(.relation=="next") | .url')"
case "$NEXT" in http://127.0.0.1:"$PORT"/fhir/Patient\?*) ok "next link is absolute" ;; *) fail "next link: $NEXT" ;; esac
expect "follow next" "$(req "$NEXT")" 200
expect "page 2 entry" "$(body '.entry[0].resource.id')" pb
expect "page 2 has previous" "$(body '[.link[] | select(.relation=="previous")] | length')" 1
expect "page 2 has no next" "$(body '[.link[] | select(.relation=="next")] | length')" 0

# --- PUT create / update ---------------------------------------------------------------------
expect "PUT create" "$(req -X PUT -H "$FJ" -d '{"resourceType":"Patient","id":"pn"}' "$B/Patient/pn")" 201
case "$(header Location)" in "$B/Patient/pn/_history/"*) ok "PUT create Location" ;; *) fail "Location: $(header Location)" ;; esac
expect "PUT update" "$(req -X PUT -H "$FJ" -d '{"resourceType":"Patient","id":"pn","active":true}' "$B/Patient/pn")" 200
expect "POST create" "$(req -X POST -H "$FJ" -d '{"resourceType":"Patient","name":[{"family":"Posted"}]}' "$B/Patient")" 201

# --- batch ---------------------------------------------------------------------------------------
cat >"$TMP/batch.json" <<'EOF'
{"resourceType":"Bundle","type":"batch","entry":[
 {"request":{"method":"PUT","url":"Patient/bx"},"resource":{"resourceType":"Patient","id":"bx"}},
 {"request":{"method":"PUT","url":"Patient/pb"},"resource":{"resourceType":"Patient","id":"pb","gender":"male","active":true}},
 {"request":{"method":"PUT","url":"Patient/bad"},"resource":{"resourceType":"Patient","id":"other"}}]}
EOF
expect "batch" "$(req -X POST -H "$FJ" --data-binary @"$TMP/batch.json" "$B")" 200
expect "batch statuses" "$(body '[.entry[].response.status] | join("|")')" "201 Created|200 OK|400 Bad Request"

# --- transaction atomicity -------------------------------------------------------------------
cat >"$TMP/tx.json" <<'EOF'
{"resourceType":"Bundle","type":"transaction","entry":[
 {"request":{"method":"PUT","url":"Patient/tx1"},"resource":{"resourceType":"Patient","id":"tx1"}},
 {"request":{"method":"PUT","url":"Patient/bad"},"resource":{"resourceType":"Patient","id":"other"}}]}
EOF
expect "failed transaction" "$(req -X POST -H "$FJ" --data-binary @"$TMP/tx.json" "$B")" 400
expect "failed transaction rolled back" "$(req "$B/Patient/tx1")" 404

# --- delete (tombstone for $export deleted[]) ---------------------------------------------------
expect "DELETE" "$(req -X DELETE "$B/Patient/pn")" 200
expect "read deleted" "$(req "$B/Patient/pn")" 404

# --- $export round trip ------------------------------------------------------------------------
expect "export without Prefer" "$(req "$B/\$export")" 400
curl -sS -o /dev/null -X POST -H 'Content-Type: application/json' -d '{"exportStatus429":1,"maxLinesPerFile":2}' "$B/\$admin/faults"
expect "export kick-off" "$(req -H 'Prefer: respond-async' "$B/\$export?_type=Patient,Observation&_since=2019-01-01T00:00:00Z")" 202
STATUS_URL="$(header Content-Location)"
case "$STATUS_URL" in "$B/\$export-status/"*) ok "Content-Location absolute" ;; *) fail "Content-Location: $STATUS_URL" ;; esac
expect "status poll 429 (fault)" "$(req "$STATUS_URL")" 429
expect "429 Retry-After" "$(header Retry-After)" 1
expect "status poll in progress" "$(req "$STATUS_URL")" 202
[ -n "$(header X-Progress)" ] && ok "X-Progress present" || fail "no X-Progress"
expect "status complete" "$(req "$STATUS_URL")" 200
cp "$TMP/body" "$TMP/manifest.json"
expect "manifest content type" "$(header Content-Type)" "application/json; charset=utf-8"
TT="$(body .transactionTime)"
[ -n "$TT" ] && [ "$TT" != null ] && ok "manifest transactionTime $TT" || fail "no transactionTime"
expect "manifest requiresAccessToken" "$(body .requiresAccessToken)" false
# Patients: pa, pb, bx + the POSTed one = 4 (2 files of maxLinesPerFile=2); Observation: oc.
expect "manifest Patient files" "$(body '[.output[] | select(.type=="Patient")] | length')" 2
expect "manifest Patient count" "$(body '[.output[] | select(.type=="Patient") | .count] | add')" 4
expect "manifest Observation count" "$(body '[.output[] | select(.type=="Observation") | .count] | add')" 1
expect "manifest deleted count" "$(body '[.deleted[].count] | add')" 1
OBS_URL="$(body '.output[] | select(.type=="Observation") | .url')"
PAT_URL="$(body '[.output[] | select(.type=="Patient")][0].url')"
DEL_URL="$(body '.deleted[0].url')"
expect "download file" "$(req "$PAT_URL")" 200
expect "file content type" "$(header Content-Type)" "application/fhir+ndjson"
expect "file has 2 lines" "$(wc -l <"$TMP/body" | tr -d ' ')" 2
cp "$TMP/body" "$TMP/pat1.ndjson"
expect "file is NDJSON of Patients" "$(jq -r .resourceType "$TMP/pat1.ndjson" | sort -u)" Patient
expect "download gzip" "$(req -H 'Accept-Encoding: gzip' "$PAT_URL")" 200
expect "gzip Content-Encoding" "$(header Content-Encoding)" gzip
expect "gzip body decodes" "$(gzip -dc <"$TMP/body" | cmp - "$TMP/pat1.ndjson" && echo same)" same
expect "range request" "$(req -H 'Range: bytes=0-9' "$PAT_URL")" 206
expect "range length" "$(wc -c <"$TMP/body" | tr -d ' ')" 10
req "$DEL_URL" >/dev/null
expect "deleted file entry" "$(jq -r '.type + " " + .entry[0].request.method + " " + .entry[0].request.url' "$TMP/body")" "transaction DELETE Patient/pn"
expect "export DELETE" "$(req -X DELETE "$STATUS_URL")" 202
expect "export status after DELETE" "$(req "$STATUS_URL")" 404
curl -sS -o /dev/null -X POST -H 'Content-Type: application/json' -d '{}' "$B/\$admin/faults"

# --- $import round trip (from this server's own export file) -----------------------------------
# Export again (the job above was deleted), wipe the data ($admin/reset keeps export jobs), import
# the files back: Observation and Patient as themselves, and the Patient file once more declared as
# Observation, so its 4 lines must all be reported as errors.
req -H 'Prefer: respond-async' "$B/\$export?_type=Patient,Observation" >/dev/null
S2="$(header Content-Location)"
for _ in 1 2 3 4 5; do [ "$(req "$S2")" == 200 ] && break; done
OBS_URL="$(body '.output[] | select(.type=="Observation") | .url')"
PAT_URL="$(body '.output[] | select(.type=="Patient") | .url')"
expect "reset before import" "$(req -X POST "$B/\$admin/reset")" 200
expect "Observation gone after reset" "$(req "$B/Observation/oc")" 404
cat >"$TMP/import.json" <<EOF
{"resourceType":"Parameters","parameter":[
 {"name":"inputFormat","valueString":"application/fhir+ndjson"},
 {"name":"mode","valueString":"IncrementalLoad"},
 {"name":"input","part":[{"name":"type","valueString":"Observation"},{"name":"url","valueUri":"$OBS_URL"}]},
 {"name":"input","part":[{"name":"type","valueString":"Patient"},{"name":"url","valueUri":"$PAT_URL"}]},
 {"name":"input","part":[{"name":"type","valueString":"Observation"},{"name":"url","valueString":"$PAT_URL"}]}]}
EOF
expect "import without Prefer" "$(req -X POST -H "$FJ" --data-binary @"$TMP/import.json" "$B/\$import")" 400
expect "import kick-off" "$(req -X POST -H "$FJ" -H 'Prefer: respond-async' --data-binary @"$TMP/import.json" "$B/\$import")" 202
IMP_URL="$(header Content-Location)"
case "$IMP_URL" in "$B/_operations/import/"*) ok "import Content-Location" ;; *) fail "import Content-Location: $IMP_URL" ;; esac
req -X POST -H "$FJ" -H 'Prefer: respond-async' --data-binary @"$TMP/import.json" "$B/\$import" >/dev/null
expect "import registration is idempotent" "$(header Content-Location)" "$IMP_URL"
CODE=""
for _ in $(seq 1 50); do
  CODE="$(req "$IMP_URL")"
  [ "$CODE" == 202 ] || break
  sleep 0.1
done
expect "import status complete" "$CODE" 200
expect "import output counts" "$(body '[.output[].count] | join(",")')" "1,4,0"
expect "import error count (type mismatch)" "$(body '.error | length'):$(body '.error[0].count')" "1:4"
expect "import error inputUrl" "$(body '.error[0].inputUrl')" "$PAT_URL"
ERR_URL="$(body '.error[0].url')"
expect "import error file" "$(req "$ERR_URL")" 200
expect "import error file names line 1" "$(head -n1 "$TMP/body" | jq -r '.issue[0].diagnostics | test("line: 1 ")')" true
expect "imported Observation readable" "$(req "$B/Observation/oc")" 200
expect "import kept versionId" "$(body .meta.versionId)" 7
expect "import kept lastUpdated" "$(body .meta.lastUpdated)" "2022-03-01T08:30:00.000Z"
req "$B/Patient?_count=0" >/dev/null
expect "imported Patients" "$(body .total)" 4

# --- a few fault switches ----------------------------------------------------------------------
expect "unknown switch rejected" "$(req -X POST -H 'Content-Type: application/json' -d '{"nope":1}' "$B/\$admin/faults")" 400
req -X POST -H 'Content-Type: application/json' -d '{"search429":1,"searchPage500":1}' "$B/\$admin/faults" >/dev/null
expect "search429" "$(req "$B/Patient")" 429
expect "searchPage500" "$(req "$B/Patient")" 500
expect "search after faults" "$(req "$B/Patient")" 200
req -X POST -H 'Content-Type: application/json' -d '{"bearerToken":"sekret"}' "$B/\$admin/faults" >/dev/null
expect "bearerToken required" "$(req "$B/Patient")" 401
expect "bearerToken accepted" "$(req -H 'Authorization: Bearer sekret' "$B/Patient")" 200
req -X POST -H 'Content-Type: application/json' -d '{}' "$B/\$admin/faults" >/dev/null

# --- stats and reset ------------------------------------------------------------------------
req "$B/\$admin/stats" >/dev/null
expect "stats import kick-offs (since reset)" "$(body .importKickoffs)" 3
expect "stats import jobs (since reset)" "$(body .importJobs)" 1
expect "stats Observation count" "$(body .resources.Observation)" 1
expect "reset" "$(req -X POST "$B/\$admin/reset")" 200
req "$B?_summary=count" >/dev/null
expect "empty after reset" "$(body .total)" 0

# --- shutdown ------------------------------------------------------------------------------------
kill -TERM "$SERVER_PID"
RC=0
wait "$SERVER_PID" || RC=$?
SERVER_PID=""
expect "SIGTERM exits 0" "$RC" 0

echo "smoke: $PASSED passed, 0 failed"
