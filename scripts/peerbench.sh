#!/usr/bin/env bash
# The peer benchmark: an app on confidant against oauth2-proxy (built from
# the Go module proxy at the version bench/main.go pins), the same provider
# and backend, wrk and an open-loop generator, interleaved rounds. It takes
# about 13 minutes on 2 cores; its flags (-rounds, -duration, -only, -smoke)
# follow. Needs wrk and redis-server (Debian: apt-get install wrk
# redis-server). docs/performance.md shows its last results.
set -euo pipefail
cd "$(dirname "$0")/../bench"
exec go run . "$@"
