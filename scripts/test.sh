#!/usr/bin/env bash
# The test command of the README, and what CI runs after installing packages.
#   bash scripts/test.sh          vet, every test (unit, fuzz seeds, real processes), short fuzzing
# Tests that need Apache ZooKeeper (Debian's zookeeper package) skip when it is missing,
# unless ZABKAFKA_REQUIRE_APACHE=1 (CI sets it).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"

echo "== go vet"
go vet ./...

echo "== fuzzing every decoder and the server's request path briefly (seeds also run in go test)"
# Budgets are exec counts, not durations: a time budget can end a run with
# "context deadline exceeded" and no crasher, a known flake of go test -fuzz.
for spec in ./jute/:100000x ./znode/:20000x ./zkserver/:5000x ./storage/:50000x ./zab/:50000x ./broker/log/:5000x ./broker/zkmeta/:20000x ./zab/transport/:20000x ./broker/controller/:5000x ./broker/kguard/:20000x ./broker/:5000x; do
	pkg=${spec%%:*}
	execs=${FUZZEXECS:-${spec##*:}}
	for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz'); do
		if ! out=$(go test -run='^$' -fuzz="^${target}\$" -fuzztime="$execs" -parallel=1 "$pkg" 2>&1); then
			echo "$out"
			echo "fuzz target ${target} failed; the failing input is under ${pkg}testdata/fuzz/${target}/" >&2
			exit 1
		fi
	done
done

echo "== race detector on the in-process packages"
go test -race -count=1 ./jute/ ./znode/ ./zkserver/ ./storage/... ./zkclient/ ./broker/log/ ./broker/controller/ ./broker/ ./broker/replica/ ./broker/logmgr/ ./zab/zabnode/

echo "== go test"
go test -count=1 -timeout 25m ./...
