#!/usr/bin/env bash
# The whole test suite: every test with the race detector, then each fuzz
# target for a bounded time (FUZZTIME, default 20s). A crasher the fuzzer
# finds is written under testdata/fuzz/ and, once committed, runs as a
# regression seed with every `go test`.
set -euo pipefail
cd "$(dirname "$0")/.."

go test -race -count=1 ./...

fuzztime=${FUZZTIME:-20s}
targets=(
	"FuzzCookieLoad ./session"
	"FuzzUnmarshal ./session"
	"FuzzSanitizeReturnTo ./middleware"
	"FuzzCallback ./middleware"
	"FuzzTokenResponse ./client"
	"FuzzUserInfo ./client"
)
for t in "${targets[@]}"; do
	set -- $t
	echo "fuzz $1 ($2) for $fuzztime"
	go test -run '^$' -fuzz "^$1\$" -fuzztime "$fuzztime" "$2"
done
echo "fuzz: ${#targets[@]} targets, no failures"
