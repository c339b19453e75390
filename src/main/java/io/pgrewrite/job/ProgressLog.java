package io.pgrewrite.job;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Logs copy progress per partition, at most every few seconds per partition. */
final class ProgressLog implements Consumer<PartitionJob.Progress> {

    private static final Logger log = LoggerFactory.getLogger("io.pgrewrite.progress");

    private final Map<String, long[]> rows = new ConcurrentHashMap<>();

    @Override
    public void accept(PartitionJob.Progress p) {
        long[] r = rows.computeIfAbsent(p.partition(), k -> new long[] {0, System.nanoTime()});
        synchronized (r) {
            r[0] += p.rows();
            if (System.nanoTime() - r[1] > 5_000_000_000L) {
                r[1] = System.nanoTime();
                log.info("{}: {} rows copied", p.partition(), r[0]);
            }
        }
    }
}
