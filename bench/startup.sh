#!/usr/bin/env bash
# Wall time of the read-only commands as a user runs them (`java -jar target/pgrewrite.jar …`), JVM start
# included: the median of N runs of each, against a PostgreSQL that already runs (not the embedded one).
#
#   SPRING_DATASOURCE_URL=… SPRING_DATASOURCE_USERNAME=… SPRING_DATASOURCE_PASSWORD=… \
#     bench/startup.sh [--runs N] [--jar FILE] [--job JOB.yaml] [--execution ID]
#
# The database needs the job's table (e.g. `pgrewrite demo --days 5 --rows-per-day 2000`) and, for
# `status ID`, one execution (e.g. `pgrewrite run jobs/passage-massa-to-integer.yaml`; the default ID is the
# newest). Prints one line per command: median, min and max in seconds, and the load average it ran under.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
RUNS=7
JAR=$ROOT/target/pgrewrite.jar
JOB=$ROOT/jobs/passage-compact.yaml
EXECUTION=
while [ $# -gt 0 ]; do
    case $1 in
        --runs) RUNS=$2; shift 2 ;;
        --jar) JAR=$2; shift 2 ;;
        --job) JOB=$2; shift 2 ;;
        --execution) EXECUTION=$2; shift 2 ;;
        *) echo "usage: bench/startup.sh [--runs N] [--jar FILE] [--job JOB.yaml] [--execution ID]" >&2; exit 2 ;;
    esac
done
: "${SPRING_DATASOURCE_URL:?set SPRING_DATASOURCE_URL (and _USERNAME, _PASSWORD) to a running PostgreSQL}"
if [ -z "$EXECUTION" ]; then
    EXECUTION=$(java -jar "$JAR" status | awk 'NR == 2 {print $1}')
fi

# seconds (3 decimals) of one run; its output goes to /dev/null, a failure stops the benchmark
once() {
    local start end
    start=$(date +%s%N)
    if ! java -jar "$JAR" "$@" >/dev/null 2>/tmp/pgrewrite-startup.$$.err; then
        echo "failed: java -jar $JAR $*" >&2
        cat /tmp/pgrewrite-startup.$$.err >&2
        exit 1
    fi
    end=$(date +%s%N)
    echo "scale=3; ($end - $start) / 1000000000" | bc
}

measure() {
    local label=$1
    shift
    once "$@" >/dev/null # warm the page cache
    local times=()
    for _ in $(seq "$RUNS"); do
        times+=("$(once "$@")")
    done
    printf '%s\n' "${times[@]}" | sort -n | awk -v label="$label" -v load="$(cut -d' ' -f1 /proc/loadavg)" '
        { t[NR] = $1 }
        END { m = NR % 2 ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
              printf "%-28s median %.2f s  min %.2f  max %.2f  (%d runs, load %s)\n", label, m, t[1], t[NR], NR, load }'
}

echo "jar: $JAR ($(nproc) cores)"
measure "--version" --version
measure "status" status
measure "status --json" status --json
measure "status $EXECUTION" status "$EXECUTION"
measure "plan $(basename "$JOB")" plan "$JOB"
measure "plan --dry-run" plan "$JOB" --dry-run
rm -f /tmp/pgrewrite-startup.$$.err
