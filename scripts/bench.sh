#!/usr/bin/env bash
# bench.sh runs `samsa bench` against samsa (writing to a data dir under
# /tmp) and against franz-go's in-memory kfake (tools/kfakepeer) in one run,
# and prints a markdown table with both side by side. See docs/benchmarks.md.
#
# Every load is bounded in records (and by --timeout); servers listen on
# loopback only and are stopped at the end, also on Ctrl-C.
#
#   scripts/bench.sh                    # defaults below
#   RECORDS=100000 scripts/bench.sh     # a quicker run
#   TARGETS=samsa scripts/bench.sh      # one server only
#   REPEAT=3 scripts/bench.sh           # median of three runs per case
#   REPEAT=3 PICK=best scripts/bench.sh # the fastest of three
#   BASE_BIN=/tmp/samsa-old TARGETS="base samsa kfake" scripts/bench.sh
#                                       # also an older samsa build, as "base"
#   PPROF=127.0.0.1:6060 TARGETS=samsa scripts/bench.sh   # samsa serves pprof meanwhile
#
# Broker CPU per record: utime+stime of the server process from
# /proc/<pid>/stat before and after each case, divided by the records of the
# case. The clock tick is 10 ms, so use enough records (100k+ at 1 KiB).
set -euo pipefail

RECORDS=${RECORDS:-200000}           # records per produce and consume case
RATE=${RATE:-20000}                  # the steady-rate latency case: records/s
RATE_RECORDS=${RATE_RECORDS:-100000} # ... and its records (5 s at 20k/s)
SIZE=${SIZE:-1024}                   # value bytes
PARTITIONS=${PARTITIONS:-"1 6"}
CODECS=${CODECS:-"none lz4"}
TARGETS=${TARGETS:-"samsa kfake"}
SAMSA_PORT=${SAMSA_PORT:-19192}
KFAKE_PORT=${KFAKE_PORT:-19092}
BASE_PORT=${BASE_PORT:-19292}
BASE_BIN=${BASE_BIN:-}
PPROF=${PPROF:-}
REPEAT=${REPEAT:-1}
PICK=${PICK:-median} # which of the REPEAT runs of a case the table shows: median or best (records/s)

cd "$(dirname "$0")/.."
work=$(mktemp -d /tmp/samsa-bench.XXXXXX)
declare -A pids=() ports=([samsa]=$SAMSA_PORT [kfake]=$KFAKE_PORT [base]=$BASE_PORT)
cleanup() {
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "building samsa and kfakepeer into $work" >&2
go build -o "$work/samsa" ./cmd/samsa
go build -o "$work/kfakepeer" ./tools/kfakepeer
bin=$work/samsa
tick=$(getconf CLK_TCK)

# cpu_ticks prints utime+stime of pid in clock ticks. The command name in
# field 2 has no spaces for our binaries, so plain field splitting works.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

wait_port() {
	for _ in $(seq 100); do
		if (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	echo "server on port $1 did not come up" >&2
	return 1
}

start_server() { # name
	local port=${ports[$1]}
	case $1 in
	samsa | base)
		local extra=() server=$bin
		[[ -n $PPROF && $1 == samsa ]] && extra=(--pprof "$PPROF")
		if [[ $1 == base ]]; then
			[[ -n $BASE_BIN ]] || { echo "target base needs BASE_BIN" >&2; return 1; }
			server=$BASE_BIN
		fi
		"$server" server --log-level warn "${extra[@]}" \
			--set "listeners=PLAINTEXT://127.0.0.1:$port" \
			--set "log.dirs=$work/data-$1" >"$work/$1.log" 2>&1 &
		;;
	kfake)
		"$work/kfakepeer" -port "$port" >"$work/kfake.log" 2>&1 &
		;;
	*)
		echo "unknown target $1 (want samsa, kfake or base)" >&2
		return 1
		;;
	esac
	pids[$1]=$!
	wait_port "$port"
	if ! kill -0 "${pids[$1]}" 2>/dev/null; then
		echo "$1 exited at start (port $port taken?):" >&2
		cat "$work/$1.log" >&2
		return 1
	fi
}

json() { jq -r "$2" <<<"$1"; }

# run_case target case-name command...: runs a bench command, reads the
# server's CPU around it and appends one TSV row to $work/rows.
run_case() {
	local target=$1 name=$2
	shift 2
	local before after out pid=${pids[$target]}
	before=$(cpu_ticks "$pid")
	out=$("$bin" "$@" --bootstrap "127.0.0.1:${ports[$target]}" --format json 2>"$work/last.err") || {
		echo "$target $name failed:" >&2
		cat "$work/last.err" >&2
		return 1
	}
	after=$(cpu_ticks "$pid")
	local recs us
	recs=$(json "$out" .records)
	us=$(awk -v t=$((after - before)) -v hz="$tick" -v n="$recs" 'BEGIN { printf "%.2f", n ? t / hz * 1e6 / n : 0 }')
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$target" "$name" "$recs" \
		"$(json "$out" .records_per_sec)" "$(json "$out" .mib_per_sec)" \
		"$(json "$out" '.latency_ms.p99 // "-"')" "$us" >>"$work/rows"
	echo "$target $name: $(json "$out" .records_per_sec) records/s, p99 $(json "$out" '.latency_ms.p99 // "-"') ms, broker $us us/record" >&2
}

: >"$work/rows"
# Both servers run during the whole run (an idle one costs nothing) and each
# case runs against one target right after the other, so a noisy moment on
# the machine hits both alike. REPEAT > 1 runs every case that many times;
# the table shows the run with the median records/s, or with PICK=best the
# fastest (on a shared machine, the run least disturbed by others).
for target in $TARGETS; do
	start_server "$target"
done
for r in $(seq "$REPEAT"); do
	for p in $PARTITIONS; do
		for z in $CODECS; do
			topic="bench-p$p-$z-$r"
			for target in $TARGETS; do
				run_case "$target" "produce p=$p $z" bench produce --topic "$topic" --partitions "$p" \
					--records "$RECORDS" --record-size "$SIZE" --acks all --compression "$z"
				run_case "$target" "consume p=$p $z" bench consume --topic "$topic" --records "$RECORDS"
			done
		done
	done
	for target in $TARGETS; do
		run_case "$target" "produce p=1 none rate=$RATE linger=0" bench produce --topic "bench-rate-$r" \
			--partitions 1 --records "$RATE_RECORDS" --record-size "$SIZE" --acks all \
			--rate "$RATE" --linger 0
	done
done

# One row per case, the targets side by side.
echo
echo "$(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores, Linux $(uname -r), $(go version | awk '{print $3}'); $RECORDS records of $SIZE B per case, acks=all, $PICK of $REPEAT"
echo
hdr="| case |"
sep="|---|"
for t in $TARGETS; do
	hdr+=" $t records/s | $t MiB/s | $t p99 ms | $t broker µs/record |"
	sep+="---:|---:|---:|---:|"
done
echo "$hdr"
echo "$sep"
cut -f2 "$work/rows" | awk '!seen[$0]++' | while IFS= read -r name; do
	line="| $name |"
	for t in $TARGETS; do
		row=$(awk -F'\t' -v t="$t" -v n="$name" '$1 == t && $2 == n' "$work/rows" | sort -t$'\t' -k4,4g |
			awk -v r="$REPEAT" -v pick="$PICK" 'NR == (pick == "best" ? r : int((r + 1) / 2))')
		if [[ -z $row ]]; then
			line+=" - | - | - | - |"
		else
			line+=$(awk -F'\t' '{ printf " %.0f | %.1f | %s | %s |", $4, $5, $6, $7 }' <<<"$row")
		fi
	done
	echo "$line"
done
