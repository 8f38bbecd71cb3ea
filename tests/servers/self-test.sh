#!/bin/sh
# The test servers' own tests (node --test): the FHIR adapter's emulations and
# fault switches behave as documented in fhir-server.mjs. FM_NODE picks node.
cd "$(dirname "$0")" && exec "${FM_NODE:-node}" --test server.test.mjs
