#!/usr/bin/env python3
"""Where a partition's server time goes, statement by statement, from a PostgreSQL log.

Not part of bench/run.sh: a by-hand profile. Set on the benchmark's cluster (ALTER SYSTEM, reset after)
  log_min_duration_statement = 0
  log_line_prefix = '%m %p %u %d '
run one approach (e.g. `bench/run.sh --shape small --server 15 --only D1 --reuse-data --results /tmp/x`),
then read the log:
  bench/statements.py LOG PARTITIONS [PID,PID...]
PIDs: the backends to count (pgrewrite's connections; the application's traffic and the disk sampler are
others: the second column of the log's lines). Without them every backend counts.

Prints server milliseconds per partition (parse + bind + execute, or a simple query's time) by kind of
statement, then the costliest statements. Time between statements (the client, the network) is not in it.
Logging every statement slows the run itself (the 365-day run took 26.4 s instead of 22.6 s).
"""
import collections
import re
import sys

LINE = re.compile(r' (\d+) \S+ \S+ LOG:  duration: ([\d.]+) ms  (parse|bind|execute|statement)[^:]*: ?(.*)')
NEW_ENTRY = re.compile(r'^\d{4}-\d\d-\d\d ')


def normalize(text, width=80):
    t = re.sub(r'\s+', ' ', text).strip()[:width]
    t = re.sub(r'"?passage_\d+(__\w+)?"?', 'P', t)
    t = re.sub(r"'[^']*'", "'?'", t)
    return re.sub(r'\d+', 'N', t)


def kind(t):
    if 'a.n, a.h' in t:
        return 'verify (both sides, one statement)'
    if t.startswith('INSERT INTO "public".P'):
        return 'copy (INSERT ... SELECT)'
    if re.match(r'ALTER TABLE "public"."passage" (ATTACH|DETACH)', t):
        return 'swap: ' + t.split()[3] + ' PARTITION'
    if re.match(r'(ALTER|CREATE|DROP|LOCK|VACUUM|ANALYZE|COMMENT|GRANT|DO )', t):
        words = t.split()
        return 'other DDL: ' + ' '.join(words[:2]) if not t.startswith('CREATE UNIQUE') else 'other DDL: CREATE INDEX'
    if 'pg_statistic' in t:
        return 'statistics copied (pg_statistic)'
    if 'pgrewrite.' in t or 'BATCH_' in t:
        return "pgrewrite's own state (partition_state, JobRepository)"
    if t in ('COMMIT', 'BEGIN', 'ROLLBACK'):
        return 'BEGIN / COMMIT'
    if 'pg_locks' in t or 'set_config' in t:
        return 'lock retry: autovacuum check, lock_timeout'
    if t.startswith(('SELECT', 'WITH')):
        return 'catalog reads'
    return 'other: ' + t[:30]


def main():
    log, partitions = sys.argv[1], int(sys.argv[2])
    pids = set(sys.argv[3].split(',')) if len(sys.argv) > 3 else None
    lines = open(log, errors='replace').read().split('\n')
    by_statement = collections.defaultdict(float)
    runs = collections.Counter()
    kinds = {}
    for i, line in enumerate(lines):
        m = LINE.search(line)
        if not m or (pids and m.group(1) not in pids):
            continue
        text = m.group(4)
        j = i + 1
        while not text.strip() and j < len(lines) and not NEW_ENTRY.match(lines[j]):
            text = lines[j]
            j += 1
        while j < len(lines) and not NEW_ENTRY.match(lines[j]):  # the rest of the statement: what kind it is
            text += ' ' + lines[j]
            j += 1
        t = normalize(text)
        kinds[t] = kind(normalize(text, 100_000))
        by_statement[t] += float(m.group(2))
        if m.group(3) in ('execute', 'statement'):
            runs[t] += 1
    by_kind = collections.defaultdict(float)
    kind_runs = collections.Counter()
    for t, ms in by_statement.items():
        by_kind[kinds[t]] += ms
        kind_runs[kinds[t]] += runs[t]
    total = sum(by_kind.values())
    print('| kind of statement | runs per partition | server ms per partition | share |\n|---|---|---|---|')
    for k, ms in sorted(by_kind.items(), key=lambda x: -x[1]):
        print(f'| {k} | {kind_runs[k] / partitions:.1f} | {ms / partitions:.2f} | {100 * ms / total:.0f} % |')
    print(f'| all | {sum(runs.values()) / partitions:.1f} | {total / partitions:.2f} | 100 % |\n')
    print('| statement (normalized) | runs per partition | server ms per partition |\n|---|---|---|')
    for t, ms in sorted(by_statement.items(), key=lambda x: -x[1])[:25]:
        print(f'| `{t.replace("|", "/")}` | {runs[t] / partitions:.1f} | {ms / partitions:.2f} |')


if __name__ == '__main__':
    main()
