#!/usr/bin/env bash
# Wall time of the read-only commands as a user runs them (`java -jar target/pgrewrite.jar …`), JVM start
# included: the median of N runs of each, against a PostgreSQL that already runs (not the embedded one).
# Then `run` of a new job each time (compact of one empty partition of the job's table, 4 days ahead: the demo
# table has 5): its start, from launch until the job began (the job execution's start time, as bench/run.sh
# counts it), and its CPU seconds (user + sys, the JVMs it started included).
#
#   SPRING_DATASOURCE_URL=… SPRING_DATASOURCE_USERNAME=… SPRING_DATASOURCE_PASSWORD=… \
#     bench/startup.sh [--runs N] [--jar FILE]... [--job JOB.yaml] [--execution ID]
#
# With several --jar (e.g. a build of main before a change, and target/pgrewrite.jar), their runs alternate,
# so both see the same machine load.
# The database needs the job's table (e.g. `pgrewrite demo --days 5 --rows-per-day 2000`) and, for
# `status ID`, one execution (e.g. `pgrewrite run jobs/passage-massa-to-integer.yaml`; the default ID is the
# newest). Prints one line per command: median, min and max in seconds, and the load average it ran under.
# Needs jq for `run`.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
RUNS=7
JARS=()
JOB=$ROOT/jobs/passage-compact.yaml
EXECUTION=
while [ $# -gt 0 ]; do
    case $1 in
        --runs) RUNS=$2; shift 2 ;;
        --jar) JARS+=("$2"); shift 2 ;;
        --job) JOB=$2; shift 2 ;;
        --execution) EXECUTION=$2; shift 2 ;;
        *) echo "usage: bench/startup.sh [--runs N] [--jar FILE]... [--job JOB.yaml] [--execution ID]" >&2; exit 2 ;;
    esac
done
[ ${#JARS[@]} -gt 0 ] || JARS=("$ROOT/target/pgrewrite.jar")
: "${SPRING_DATASOURCE_URL:?set SPRING_DATASOURCE_URL (and _USERNAME, _PASSWORD) to a running PostgreSQL}"
if [ -z "$EXECUTION" ]; then
    EXECUTION=$(java -jar "${JARS[0]}" status | awk 'NR == 2 {print $1}')
fi

# seconds (3 decimals) of one run of jar $1; its output goes to /dev/null, a failure stops the benchmark
once() {
    local jar=$1 start end
    shift
    start=$(date +%s%N)
    if ! java -jar "$jar" "$@" >/dev/null 2>/tmp/pgrewrite-startup.$$.err; then
        echo "failed: java -jar $jar $*" >&2
        cat /tmp/pgrewrite-startup.$$.err >&2
        exit 1
    fi
    end=$(date +%s%N)
    echo "scale=3; ($end - $start) / 1000000000" | bc
}

measure() {
    local label=$1 i j load
    shift
    for j in "${!JARS[@]}"; do
        once "${JARS[$j]}" "$@" >/dev/null # warm the page cache (and make the unpacked copy)
        : >"/tmp/pgrewrite-startup.$$.$j"
    done
    load=$(cut -d' ' -f1 /proc/loadavg)
    for _ in $(seq "$RUNS"); do
        for j in "${!JARS[@]}"; do
            once "${JARS[$j]}" "$@" >>"/tmp/pgrewrite-startup.$$.$j"
        done
    done
    load="$load-$(cut -d' ' -f1 /proc/loadavg)"
    for j in "${!JARS[@]}"; do
        sort -n "/tmp/pgrewrite-startup.$$.$j" | awk -v label="$label" -v jar="$((j + 1))" -v load="$load" '
            { t[NR] = $1 }
            END { m = NR % 2 ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
                  printf "%-26s jar %s  median %.2f s  min %.2f  max %.2f  (%d runs, load %s)\n", label, jar, m, t[1], t[NR], NR, load }'
        rm -f "/tmp/pgrewrite-startup.$$.$j"
    done
}

# `run` of a fresh one-partition job with jar $1: "START CPU" in seconds
run_once() {
    local jar=$1 name file t0 started cpu
    name=startup-$(date +%s%N)
    file=/tmp/pgrewrite-startup.$$.yaml
    printf 'name: %s\ntable: %s\noperation: compact\nworkers: 1\npartitions: {from: %s, to: %s}\n' "$name" "$TABLE" \
        "$(date -u -d '+4 days' +%F)" "$(date -u -d '+5 days' +%F)" >"$file"
    t0=$(date +%s.%N)
    if ! /usr/bin/time -f '%U %S' -o /tmp/pgrewrite-startup.$$.time java -jar "$jar" run "$file" >/dev/null 2>/tmp/pgrewrite-startup.$$.err; then
        echo "failed: java -jar $jar run $file" >&2
        cat /tmp/pgrewrite-startup.$$.err >&2
        exit 1
    fi
    started=$(java -jar "$jar" status --json | jq -r --arg n "$name" '.[] | select(.job == $n) | .started')
    cpu=$(awk '{print $1 + $2}' /tmp/pgrewrite-startup.$$.time)
    echo "$(echo "scale=3; $(date -d "$started" +%s.%N) - $t0" | bc) $cpu"
    rm -f "$file"
}

measure_run() {
    local i j load
    for j in "${!JARS[@]}"; do
        run_once "${JARS[$j]}" >/dev/null # warm the page cache (and make the unpacked copy and its archive)
        : >"/tmp/pgrewrite-startup.$$.$j"
    done
    load=$(cut -d' ' -f1 /proc/loadavg)
    for _ in $(seq "$RUNS"); do
        for j in "${!JARS[@]}"; do
            run_once "${JARS[$j]}" >>"/tmp/pgrewrite-startup.$$.$j"
        done
    done
    load="$load-$(cut -d' ' -f1 /proc/loadavg)"
    for j in "${!JARS[@]}"; do
        for col in 1 2; do
            cut -d' ' -f$col "/tmp/pgrewrite-startup.$$.$j" | sort -n | awk -v label="$([ $col = 1 ] && echo "run: start" || echo "run: CPU s")" \
                -v jar="$((j + 1))" -v load="$load" '
                { t[NR] = $1 }
                END { m = NR % 2 ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
                      printf "%-26s jar %s  median %.2f s  min %.2f  max %.2f  (%d runs, load %s)\n", label, jar, m, t[1], t[NR], NR, load }'
        done
        rm -f "/tmp/pgrewrite-startup.$$.$j"
    done
}

TABLE=$(awk -F': *' '$1 == "table" {print $2}' "$JOB")
for j in "${!JARS[@]}"; do
    echo "jar $((j + 1)): ${JARS[$j]}"
done
echo "$(nproc) cores"
measure "--version" --version
measure "status" status
measure "status --json" status --json
measure "status $EXECUTION" status "$EXECUTION"
measure "plan $(basename "$JOB")" plan "$JOB"
measure "plan --dry-run" plan "$JOB" --dry-run
measure_run
rm -f /tmp/pgrewrite-startup.$$.err /tmp/pgrewrite-startup.$$.time
