#!/usr/bin/env bash
# Loopback comparison with wrk: the same handler bare and behind Require,
# the same Cookie header on both, alternating runs. Prints requests/s of
# each run and the ratio of the medians. Bounded: DURATION per run (5s),
# ROUNDS alternations (3), loopback only; the server stops with the script.
# Needs wrk (apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${DURATION:-5s}
rounds=${ROUNDS:-3}
conns=${CONNS:-50}
command -v wrk >/dev/null || { echo "wrk is not installed: apt-get install wrk"; exit 1; }

bin=$(mktemp -d)/loopback
go build -o "$bin" ./internal/cmd/loopback
out=$(mktemp)
"$bin" -for 10m >"$out" &
pid=$!
trap 'kill $pid 2>/dev/null; rm -f "$out"' EXIT
for _ in $(seq 50); do grep -q BARE= "$out" && break; sleep 0.1; done
line=$(head -n1 "$out")
bare=$(sed 's/.*BARE=\([^ ]*\).*/\1/' <<<"$line")
req=$(sed 's/.*REQUIRE=\([^ ]*\).*/\1/' <<<"$line")
cookie=$(sed 's/.*COOKIE=//' <<<"$line")
echo "Cookie header: ${#cookie} bytes; wrk -t1 -c$conns -d$duration, $rounds rounds alternating"

rps() { wrk -t1 -c"$conns" -d"$duration" -H "Cookie: $cookie" "$1" | awk '/Requests\/sec/ {print $2}'; }
wrk -t1 -c"$conns" -d1s -H "Cookie: $cookie" "$bare" >/dev/null   # warm up both
wrk -t1 -c"$conns" -d1s -H "Cookie: $cookie" "$req" >/dev/null
b=(); r=()
for i in $(seq "$rounds"); do
	b+=("$(rps "$bare")"); r+=("$(rps "$req")")
	echo "round $i: bare ${b[-1]} req/s, Require ${r[-1]} req/s"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mb=$(median "${b[@]}"); mr=$(median "${r[@]}")
awk -v b="$mb" -v r="$mr" 'BEGIN {printf "median: bare %.0f req/s, Require %.0f req/s, ratio %.3f\n", b, r, r/b}'
