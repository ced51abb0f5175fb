#!/usr/bin/env bash
# Runs every experiment of bench/README.md in order, after waiting for the
# machine to be quiet: the 1-minute load average below $MAXLOAD (default
# 1.0) for a whole minute, giving up after $WAITMAX seconds (default 2400)
# and running anyway (the results then say so). Run as root from bench/.
set -euo pipefail
cd "$(dirname "$0")/.."
# ONLY selects experiments: any of rps memlimit memoffheap mempressure
# memcost readers startup.
ONLY=${ONLY:-"rps memlimit memoffheap mempressure memcost readers startup"}
MAXLOAD=${MAXLOAD:-1.0}
WAITMAX=${WAITMAX:-2400}
mkdir -p results
want() { [[ " $ONLY " == *" $1 "* ]]; }

quiet_since=""
start=$(date +%s)
echo "waiting for load < $MAXLOAD for 60 s (at most ${WAITMAX}s)"
while :; do
	now=$(date +%s)
	load=$(cut -d' ' -f1 /proc/loadavg)
	if awk -v l="$load" -v m="$MAXLOAD" 'BEGIN{exit !(l < m)}'; then
		quiet_since=${quiet_since:-$now}
		if (( now - quiet_since >= 60 )); then
			echo "$(date -u +%FT%TZ) quiet: load $load for $((now - quiet_since)) s after waiting $((now - start)) s" | tee results/wait.log
			break
		fi
	else
		quiet_since=""
	fi
	if (( now - start >= WAITMAX )); then
		echo "$(date -u +%FT%TZ) gave up waiting after $((now - start)) s; load $load; running anyway" | tee results/wait.log
		break
	fi
	sleep 5
done

RPS_ARGS=${RPS_ARGS:-"-quota 0.5,1,1.5,2 -open-quota 0.5,1,1.5 -procs 1,2,3,4,8,default,rightsize,automaxprocs -control-procs 1,2,4,8 -duration 5s -open-duration 4s -warmup 500ms -reps 3 -quiet-wait 30s"}
go build -o /tmp/rightsize-bench-rps ./rps
go build -o /tmp/rightsize-bench-memsurvive ./memsurvive
go build -o /tmp/rightsize-bench-startup ./startup
go test -c -o /tmp/rightsize-bench-readers.test ./readers
go build -o /tmp/rightsize-bench-benchtable ./benchtable

if want rps; then
	echo "== rps $RPS_ARGS"
	# shellcheck disable=SC2086
	/tmp/rightsize-bench-rps $RPS_ARGS -out results/rps 2>&1 | tee results/rps.log
fi
if want memlimit; then
	echo "== memsurvive"
	/tmp/rightsize-bench-memsurvive -duration 20s -reps 3 -out results/memlimit 2>&1 | tee results/memlimit.log
fi
if want memoffheap; then
	echo "== memsurvive -scenario offheap"
	/tmp/rightsize-bench-memsurvive -scenario offheap -reps 3 -out results/memoffheap 2>&1 | tee results/memoffheap.log
fi
if want mempressure; then
	echo "== memsurvive -scenario pressure"
	# With every cause (heap included), at ~40 and ~19 MiB/s.
	/tmp/rightsize-bench-memsurvive -scenario pressure -reps 3 -out results/mempressure-heap 2>&1 | tee results/mempressure-heap.log
	/tmp/rightsize-bench-memsurvive -scenario pressure -reps 3 -grow 1 -out results/mempressure-heap-slow 2>&1 | tee results/mempressure-heap-slow.log
	# Healthy services with a handler that only reports: does any signal
	# fire where nothing is wrong?
	/tmp/rightsize-bench-memsurvive -scenario ordinary -rows log-handler -reps 3 -out results/mempressure-heap-healthy-ordinary 2>&1 | tee results/mempressure-heap-healthy-ordinary.log
	/tmp/rightsize-bench-memsurvive -scenario offheap -rows log-handler -reps 3 -out results/mempressure-heap-healthy-offheap 2>&1 | tee results/mempressure-heap-healthy-offheap.log
	# (results/mempressure, -250ms, -slow, -slow-250ms, -healthy-* were
	# recorded before the heap cause existed; see README §6.)
fi
if want memcost; then
	echo "== memsurvive -scenario cost"
	/tmp/rightsize-bench-memsurvive -scenario cost -reps 10 -out results/memcost 2>&1 | tee results/memcost.log
fi
if want readers; then
	echo "== readers"
	# Ten runs of every benchmark once, so that each ratio is also taken
	# within a run (benchtable's paired ratios).
	(cd readers && for i in $(seq 10); do /tmp/rightsize-bench-readers.test -test.run XXX -test.bench . -test.count 1 -test.benchmem 2>&1; done) | tee results/readers.txt
	/tmp/rightsize-bench-benchtable < results/readers.txt > results/readers.md
fi
if want startup; then
	echo "== startup"
	/tmp/rightsize-bench-startup -n 300 -variants none,deps,floor,rightsize,automaxprocs,automemlimit -out results/startup 2>&1 | tee results/startup.log
	/tmp/rightsize-bench-startup -n 300 -program web -variants none,deps,floor,rightsize -out results/startup-web 2>&1 | tee results/startup-web.log
fi
echo "done $(date -u +%FT%TZ)"
