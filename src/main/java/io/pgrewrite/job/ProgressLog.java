package io.pgrewrite.job;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Logs copy progress per partition, at most every few seconds per partition, with its copy rate so far. */
final class ProgressLog implements Consumer<PartitionJob.Progress> {

    private static final Logger log = LoggerFactory.getLogger("io.pgrewrite.progress");

    private final Map<String, long[]> rows = new ConcurrentHashMap<>();

    @Override
    public void accept(PartitionJob.Progress p) {
        long now = System.nanoTime();
        // rows copied, last log line, first chunk seen
        long[] r = rows.computeIfAbsent(p.partition(), k -> new long[] {0, now, now});
        synchronized (r) {
            r[0] += p.rows();
            if (now - r[1] > 5_000_000_000L) {
                r[1] = now;
                double seconds = (now - r[2]) / 1e9;
                log.info("{}: {} rows copied, {} rows/s", p.partition(), r[0], Math.round(r[0] / Math.max(seconds, 0.001)));
            }
        }
    }
}
