#!/usr/bin/env bash
# Runs samsa's whole test suite on a machine that has Go. It first installs
# what the cross-client tests drive (Debian packages kcat, python3-kafka and
# python3-confluent-kafka, with what its schema registry client needs, and
# nodejs and npm for kafkajs) if they are missing, then vets and tests.
#
#   ./scripts/test.sh            everything
#   ./scripts/test.sh -run Kcat  extra arguments go to `go test` (and skip fuzzing)
#   FUZZTIME=1m ./scripts/test.sh  fuzz each decoder longer (default 10s, 0 = off)
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
# kafka-python decompresses snappy, lz4 and zstd only with these modules.
for m in snappy:python3-snappy lz4:python3-lz4 zstandard:python3-zstandard; do
	/usr/bin/python3 -c "import ${m%%:*}" >/dev/null 2>&1 || need+=("${m#*:}")
done
command -v kcat >/dev/null 2>&1 || need+=(kcat)
/usr/bin/python3 -c 'import kafka' >/dev/null 2>&1 || need+=(python3-kafka)
/usr/bin/python3 -c 'import confluent_kafka' >/dev/null 2>&1 || need+=(python3-confluent-kafka)
# confluent_kafka.schema_registry: its client needs requests, its JSON and
# Protobuf serializers jsonschema and protobuf. (The Avro serializer needs
# fastavro, which Debian does not package.)
for m in requests:python3-requests jsonschema:python3-jsonschema google.protobuf:python3-protobuf; do
	/usr/bin/python3 -c "import ${m%%:*}" >/dev/null 2>&1 || need+=("${m#*:}")
done
# The kafkajs test runs node and installs its pinned npm packages with npm ci
# (internal/e2e/testdata/kafkajs).
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
	echo "installing test dependencies: ${need[*]}"
	sudo=""
	[ "$(id -u)" -ne 0 ] && sudo="sudo"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

# The cross-client tests in internal/e2e fail, rather than skip, when a
# client is missing.
export SAMSA_REQUIRE_TOOLS=1

echo "go vet ./..."
go vet ./...
unformatted=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt needed on: $unformatted" >&2
	exit 1
fi
echo "go test ./..."
go test -count=1 -timeout 20m "$@" ./...

# The packages where goroutines share state also run under the race detector.
if [ $# -eq 0 ]; then
	echo "go test -race (network, broker, groups, transactions, partitions, storage, controller)"
	go test -race -count=1 -timeout 10m ./internal/protocol ./internal/broker ./internal/group ./internal/txn ./internal/replica ./internal/storage ./internal/controller ./internal/metadata
fi

# Every run also fuzzes the decoders for a little while (FUZZTIME=0 skips),
# starting from the seed corpora; a crasher is saved under testdata/fuzz.
fuzztime=${FUZZTIME:-10s}
if [ $# -eq 0 ] && [ "$fuzztime" != "0" ]; then
	for target in ./internal/broker:FuzzRequest ./internal/record:FuzzValidate \
		./internal/record:FuzzDecompress ./internal/storage:FuzzRecover ./internal/storage:FuzzTxnIndex; do
		echo "fuzz ${target#*:} for $fuzztime"
		if ! out=$(go test -run '^$' -fuzz "^${target#*:}\$" -fuzztime "$fuzztime" "${target%%:*}" 2>&1); then
			# Go before 1.27 can report a bare "context deadline exceeded"
			# when -fuzztime ends while a worker is mid-input
			# (go.dev/issue/75804): no input failed and nothing was
			# written. A real finding always writes "Failing input written
			# to testdata/fuzz/..."; only that, or any other failure, fails.
			if grep -q 'context deadline exceeded' <<<"$out" &&
				! grep -qE 'Failing input written|panic:|\.go:[0-9]+:' <<<"$out"; then
				echo "  (ignored: Go's fuzz coordinator hit its -fuzztime deadline mid-input, go.dev/issue/75804; no input failed)"
				continue
			fi
			echo "$out"
			exit 1
		fi
	done
fi
echo "all tests passed"
