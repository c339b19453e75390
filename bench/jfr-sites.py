#!/usr/bin/env python3
"""Where a worker waits for the server, call site by call site, from a JDK Flight Recorder recording.

Not part of bench/run.sh: a by-hand profile, the client's side of bench/statements.py (which reads the server's log).
A worker thread of pgrewrite spends its time in three ways: running Java, waiting for a socket read (the server runs
its statement, plus the round trip), or parked (waiting for a slot, a lock, a background job). This sums the socket
reads by the first pgrewrite frames under them, so each line is one place in the code and what its statements cost
the partition, round trips included.

Record a run (JFR cannot map the class data sharing archive on JDK 17: -Xshare:off, which makes the command run in
its own JVM, see cli/ArchivedJvm; --stack-depth deep enough to reach pgrewrite's frames under JDBC and Spring):
  mkdir -p /tmp/jfr /tmp/jbin
  printf '#!/bin/bash\nexec /usr/bin/java -Xshare:off -XX:FlightRecorderOptions:stackdepth=256 -XX:StartFlightRecording=settings=%s/bench/jfr-sites.jfc,filename=/tmp/jfr/rec-$$.jfr "$@"\n' "$PWD" > /tmp/jbin/java
  chmod +x /tmp/jbin/java
  PATH=/tmp/jbin:$PATH bench/run.sh --shape small --server 15 --only D1 --reuse-data --results /tmp/x
then, on the largest recording (the job's; the others are the demo traffic and the status/plan runs):
  jfr print --events jdk.SocketRead --stack-depth 256 /tmp/jfr/rec-PID.jfr | bench/jfr-sites.py PARTITIONS [THREAD] [DEPTH]
THREAD: the worker thread's name (default worker-1); DEPTH: pgrewrite frames per line (default 2).
"""
import collections
import re
import sys

UNITS = {'ns': 1e-6, 'us': 1e-3, 'ms': 1.0, 's': 1000.0, 'min': 60000.0}


def events(lines):
    """(thread, duration ms, [frames]) of each event in `jfr print` text output."""
    thread, ms, frames, in_stack = None, 0.0, [], False
    for line in lines:
        s = line.strip()
        if s.endswith('{') and not s.startswith('stackTrace'):
            thread, ms, frames, in_stack = None, 0.0, [], False
        elif s.startswith('duration = '):
            value, unit = s[len('duration = '):].split()[:2]
            ms = float(value) * UNITS[unit]
        elif s.startswith('eventThread = '):
            m = re.match(r'eventThread = "([^"]*)"', s)
            thread = m.group(1) if m else None
        elif s.startswith('stackTrace = ['):
            in_stack = True
        elif in_stack and s == ']':
            in_stack = False
        elif in_stack:
            frames.append(s)
        elif s == '}':
            yield thread, ms, frames


def site(frame):
    """io.pgrewrite.swap.Swap.lambda$swap$6(...) line: 194 -> Swap.lambda$swap$6:194"""
    m = re.match(r'io\.pgrewrite\.(?:\w+\.)*?([A-Z][\w$]*)\.([\w$<>]+)\(.*\)(?: line: (\d+))?', frame)
    return f'{m.group(1)}.{m.group(2)}:{m.group(3)}' if m else None


def main():
    partitions = int(sys.argv[1])
    thread = sys.argv[2] if len(sys.argv) > 2 else 'worker-1'
    depth = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    ms_by, reads_by = collections.defaultdict(float), collections.Counter()
    for t, ms, frames in events(sys.stdin):
        if t != thread:
            continue
        # RoundTrip sends registered reads together: the line is the place that ran it, not RoundTrip itself
        ours = [site(f) for f in frames if f.startswith('io.pgrewrite.') and not f.startswith('io.pgrewrite.pg.RoundTrip')]
        key = ' < '.join(s for s in ours[:depth] if s) or '(outside pgrewrite frames)'
        ms_by[key] += ms
        reads_by[key] += 1
    total = sum(ms_by.values())
    print(f'{thread}: {total:.0f} ms in socket reads, {total / partitions:.1f} ms and '
          f'{sum(reads_by.values()) / partitions:.1f} reads a partition\n')
    print('| ms a partition | reads a partition | call site (innermost pgrewrite frames) |')
    print('|---|---|---|')
    for key, ms in sorted(ms_by.items(), key=lambda kv: -kv[1]):
        if ms / partitions >= 0.2:
            print(f'| {ms / partitions:.2f} | {reads_by[key] / partitions:.2f} | `{key}` |')


if __name__ == '__main__':
    main()
