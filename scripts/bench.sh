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
#   CASES=groups scripts/bench.sh       # only the consumer-group cases
#   CASES=txn scripts/bench.sh          # only transactional vs idempotent produce
#
# The consumer-group cases (CASES contains "groups") run tools/groupbench
# against samsa twice, with the default group.initial.rebalance.delay.ms
# (3000) and with 0 (a second samsa, "samsa0"), and against kfake (which has
# no such delay), and print a second table: (re)balance times of a 3- and
# 4-member group with the range and cooperative-sticky balancers, and
# OffsetCommit requests per second from one client.
#
# The transaction cases (CASES contains "txn") produce RECORDS records with
# the idempotent producer and then with a transactional one committing every
# N records for each N in TXN_RECORDS, one right after the other against the
# same server, for each partition count, and print a third table with
# transactions/s and the commit latency (flush + EndTransaction). The base
# target is left out (older builds have no --transactional).
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
CASES=${CASES:-"io groups txn"}      # io: produce/consume; groups: tools/groupbench; txn: transactional produce
TXN_RECORDS=${TXN_RECORDS:-"100 1000"} # records per transaction in the txn cases (one case each)
SAMSA0_PORT=${SAMSA0_PORT:-19193}    # samsa with group.initial.rebalance.delay.ms=0
GROUP_ROUNDS=${GROUP_ROUNDS:-3}      # rebalance rounds per balancer (median shown)
GROUP_COMMITS=${GROUP_COMMITS:-5000} # OffsetCommit requests per commit case
GROUP_HEARTBEAT=${GROUP_HEARTBEAT:-100ms}

cd "$(dirname "$0")/.."
work=$(mktemp -d /tmp/samsa-bench.XXXXXX)
declare -A pids=() ports=([samsa]=$SAMSA_PORT [kfake]=$KFAKE_PORT [base]=$BASE_PORT [samsa0]=$SAMSA0_PORT)
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
go build -o "$work/groupbench" ./tools/groupbench
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
	samsa | base | samsa0)
		local extra=() server=$bin
		[[ -n $PPROF && $1 == samsa ]] && extra=(--pprof "$PPROF")
		[[ $1 == samsa0 ]] && extra=(--set group.initial.rebalance.delay.ms=0)
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
		echo "unknown target $1 (want samsa, kfake or base; samsa0 is internal)" >&2
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
# server's CPU around it and appends one TSV row to $rows (default
# $work/rows): target, case, records, records/s, MiB/s, p99 ms, broker
# µs/record, transactions/s, commit p99 ms.
rows=$work/rows
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
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$target" "$name" "$recs" \
		"$(json "$out" .records_per_sec)" "$(json "$out" .mib_per_sec)" \
		"$(json "$out" '.latency_ms.p99 // "-"')" "$us" \
		"$(json "$out" '.transactions_per_sec // "-"')" "$(json "$out" '.commit_latency_ms.p99 // "-"')" >>"$rows"
	echo "$target $name: $(json "$out" .records_per_sec) records/s, p99 $(json "$out" '.latency_ms.p99 // "-"') ms, broker $us us/record" >&2
}

: >"$work/rows"
: >"$work/trows"
# Both servers run during the whole run (an idle one costs nothing) and each
# case runs against one target right after the other, so a noisy moment on
# the machine hits both alike. REPEAT > 1 runs every case that many times;
# the table shows the run with the median records/s, or with PICK=best the
# fastest (on a shared machine, the run least disturbed by others).
for target in $TARGETS; do
	start_server "$target"
done
ioRepeat=$REPEAT
[[ " $CASES " == *" io "* ]] || ioRepeat=0
for r in $(seq "$ioRepeat"); do
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

machine="$(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores, Linux $(uname -r), $(go version | awk '{print $3}')"

# Transactions: idempotent and transactional produce of the same records,
# one right after the other on each target.
ttargets=()
for t in $TARGETS; do
	[[ $t == base ]] || ttargets+=("$t")
done
if [[ " $CASES " == *" txn "* && ${#ttargets[@]} -gt 0 ]]; then
	rows=$work/trows
	for r in $(seq "$REPEAT"); do
		for p in $PARTITIONS; do
			for target in "${ttargets[@]}"; do
				run_case "$target" "idempotent p=$p" bench produce --topic "bench-idem-p$p-$r" --partitions "$p" \
					--records "$RECORDS" --record-size "$SIZE" --acks all
				for n in $TXN_RECORDS; do
					run_case "$target" "transactional p=$p, $n records/txn" bench produce \
						--topic "bench-txn$n-p$p-$r" --partitions "$p" --records "$RECORDS" --record-size "$SIZE" \
						--acks all --transactional --txn-records "$n"
				done
			done
		done
	done
	rows=$work/rows
	echo
	echo "$machine; $RECORDS records of $SIZE B per case, acks=all, $PICK of $REPEAT"
	echo
	hdr="| case |"
	sep="|---|"
	for t in "${ttargets[@]}"; do
		hdr+=" $t records/s | $t MiB/s | $t transactions/s | $t commit p99 ms | $t broker µs/record |"
		sep+="---:|---:|---:|---:|---:|"
	done
	echo "$hdr"
	echo "$sep"
	cut -f2 "$work/trows" | awk '!seen[$0]++' | while IFS= read -r name; do
		line="| $name |"
		for t in "${ttargets[@]}"; do
			row=$(awk -F'\t' -v t="$t" -v n="$name" '$1 == t && $2 == n' "$work/trows" | sort -t$'\t' -k4,4g |
				awk -v r="$REPEAT" -v pick="$PICK" 'NR == (pick == "best" ? r : int((r + 1) / 2))')
			if [[ -z $row ]]; then
				line+=" - | - | - | - | - |"
			else
				line+=$(awk -F'\t' '{ printf " %.0f | %.1f | %s | %s | %s |", $4, $5, ($8 == "-" ? "-" : sprintf("%.0f", $8)), $9, $7 }' <<<"$row")
			fi
		done
		echo "$line"
	done
fi

# Consumer groups: samsa with the default initial rebalance delay and with
# none, and kfake, side by side. One TSV row per value: target, case, value.
: >"$work/grows"
gtargets=()
for t in $TARGETS; do
	case $t in
	samsa) gtargets+=(samsa samsa0) ;;
	kfake) gtargets+=(kfake) ;;
	esac # base: older builds may have no groups
done
if [[ " $CASES " == *" groups "* && ${#gtargets[@]} -gt 0 ]]; then
	[[ " ${gtargets[*]} " == *" samsa0 "* ]] && start_server samsa0
	for t in "${gtargets[@]}"; do
		for bal in range cooperative-sticky; do
			n=0
			[[ $bal == range ]] && n=$GROUP_COMMITS
			out=$("$work/groupbench" -bootstrap "127.0.0.1:${ports[$t]}" -balancer "$bal" -rounds "$GROUP_ROUNDS" \
				-commits "$n" -heartbeat "$GROUP_HEARTBEAT" -format json 2>"$work/last.err") || {
				echo "$t groups $bal failed:" >&2
				cat "$work/last.err" >&2
				exit 1
			}
			echo "$t groups $bal: $out" >&2
			{
				printf '%s\t%s\t%.1f\n' "$t" "3 members start, until all hold partitions ($bal), ms" "$(json "$out" .initial_ms)"
				printf '%s\t%s\t%.1f\n' "$t" "a 4th member joins, until 4 are balanced ($bal), ms" "$(json "$out" .join_ms)"
				printf '%s\t%s\t%.1f\n' "$t" "1 of 4 leaves, until 3 are balanced ($bal), ms" "$(json "$out" .leave_ms)"
				json "$out" '(.commits // [])[] | "\(.partitions)\t\(.commits_per_sec)\t\(.p99_ms)"' | while IFS=$'\t' read -r parts cps p99; do
					printf '%s\t%s\t%.0f\n' "$t" "OffsetCommit, $parts partition(s) per request, commits/s" "$cps"
					printf '%s\t%s\t%s\n' "$t" "OffsetCommit, $parts partition(s) per request, p99 ms" "$p99"
				done
			} >>"$work/grows"
		done
	done
	echo
	echo "$machine; groupbench: ${GROUP_ROUNDS} rounds (median), heartbeat $GROUP_HEARTBEAT, 12 partitions, $GROUP_COMMITS sequential commits per commit case"
	echo
	declare -A gname=([samsa]="samsa (delay 3000 ms)" [samsa0]="samsa (delay 0)" [kfake]="kfake")
	hdr="| case |"
	sep="|---|"
	for t in "${gtargets[@]}"; do
		hdr+=" ${gname[$t]} |"
		sep+="---:|"
	done
	echo "$hdr"
	echo "$sep"
	cut -f2 "$work/grows" | awk '!seen[$0]++' | while IFS= read -r name; do
		line="| $name |"
		for t in "${gtargets[@]}"; do
			v=$(awk -F'\t' -v t="$t" -v n="$name" '$1 == t && $2 == n { print $3 }' "$work/grows")
			line+=" ${v:--} |"
		done
		echo "$line"
	done
fi
[[ " $CASES " == *" io "* ]] || exit 0

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
