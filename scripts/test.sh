#!/usr/bin/env bash
# The whole test suite: every test with the race detector, then each fuzz
# target for a bounded number of executions. A crasher the fuzzer finds is
# written under testdata/fuzz/ and, once committed, runs as a regression seed
# with every `go test`.
#
# The bound is a count (-fuzztime Nx), not a duration: with a duration, Go
# 1.26's fuzz coordinator can report "context deadline exceeded" as a failure
# when the time runs out, with no crasher (golang/go#75804, fixed in Go 1.27).
# A count never arms that deadline. Each count was 7-22 s of fuzzing on a
# 2-core machine. FUZZTIME overrides every target's bound for a longer local
# run: prefer a count (FUZZTIME=1000000x); a duration (FUZZTIME=5m) works but
# can hit that bug.
set -euo pipefail
cd "$(dirname "$0")/.."

# The certified OpenID Provider some tests start (panva's oidc-provider,
# pinned by internal/testkit/certop/node/package-lock.json), when it is not there yet.
if [ ! -d internal/testkit/certop/node/node_modules/oidc-provider ] && command -v npm >/dev/null; then
	npm ci --prefix internal/testkit/certop/node --no-audit --no-fund
fi

go test -race -count=1 ./...

# An app in a module of its own (testdata/yourapp), as a user's is: it can
# reach only the exported packages, and its tests use confidanttest.
echo "testdata/yourapp: a separate module's tests"
(cd testdata/yourapp && go vet ./... && go test -race -count=1 ./...)

# The middleware on gin, echo and chi, wired as the README shows, in a module
# of its own so that the main module's go.mod names no router.
echo "testdata/routers: gin, echo and chi"
(cd testdata/routers && go vet ./... && go test -race -count=1 ./...)

# Every benchmark once (-benchtime=1x): their own checks (statuses, token
# requests per storm) run, so they cannot rot between the runs that measure.
echo "benchmarks: each once"
go test -run '^$' -bench . -benchtime=1x ./...

# The peer benchmark (bench/, a module of its own: oauth2-proxy built from
# the module proxy) once, for a second per case: every case's answers are
# checked, nothing is measured. scripts/peerbench.sh measures.
echo "bench: the peer benchmark's smoke run"
(cd bench && go vet ./...)
if command -v wrk >/dev/null; then
	(cd bench && go run . -smoke)
elif [ "${CONFIDANT_REQUIRE_ALL:-}" = 1 ]; then
	echo "wrk is not installed (Debian: apt-get install wrk), and CONFIDANT_REQUIRE_ALL=1"; exit 1
else
	echo "bench: wrk is not installed (Debian: apt-get install wrk): smoke run skipped"
fi

targets=(
	"FuzzCookieLoad ./session 300000x"
	"FuzzUnmarshal ./session 300000x"
	"FuzzSanitizeReturnTo ./middleware 150000x"
	"FuzzCallback ./middleware 100000x"
	"FuzzChallenge ./middleware 100000x"
	"FuzzProxyPath ./middleware 150000x"
	"FuzzTokenResponse ./client 100000x"
	"FuzzUserInfo ./client 20000x"
	"FuzzLogoutToken ./client 100000x"
	"FuzzDiscovery ./client 20000x"
	"FuzzJWKS ./client 5000x"
)
for t in "${targets[@]}"; do
	set -- $t
	bound=${FUZZTIME:-$3}
	echo "fuzz $1 ($2) for $bound"
	go test -run '^$' -fuzz "^$1\$" -fuzztime "$bound" "$2"
done
echo "fuzz: ${#targets[@]} targets, no failures"
