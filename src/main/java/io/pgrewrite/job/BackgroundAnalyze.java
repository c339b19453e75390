package io.pgrewrite.job;

import io.pgrewrite.plan.PartitionNames;
import io.pgrewrite.swap.PendingStatistics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code statistics: after-swap}: the ANALYZE of a swapped-in partition runs on a thread and connection of
 * its own while the worker goes on with retire and the next partition's copy (on two cores, one worker's
 * backend leaves most of the second core idle; the ANALYZE fills it). Bounded: each worker thread has at
 * most one outstanding, and its next swap waits for the previous one (backpressure, not a queue). Before
 * contract (which locks every partition) and when the job ends, the job's outstanding ones are waited for;
 * then {@link #complete} samples every swapped partition still recorded as pending (a kill between a swap
 * and its ANALYZE, a remote worker that died), so no job completes with a partition lacking statistics.
 * One per process: remote workers build an {@link Engine} per partition request, on the same threads.
 */
public final class BackgroundAnalyze {

    private static final Logger log = LoggerFactory.getLogger(BackgroundAnalyze.class);

    /**
     * The outstanding ANALYZE of each worker thread. A stop does not wait for one under way (it may take long on
     * a large partition): its partition stays pending, and {@link #complete} samples it.
     */
    private static final BackgroundSlots<Void> SLOTS = new BackgroundSlots<>("statistics", "ANALYZE", false);

    private BackgroundAnalyze() {
    }

    /**
     * Right after the swap of {@code n.partition()} committed: its ANALYZE in the background, once this worker
     * thread's previous one has ended. Under dry run, the statements are printed instead.
     */
    static void afterSwap(Engine engine, PartitionNames n) {
        PendingStatistics pending = engine.indexBuild().pending();
        if (engine.sql().dryRun()) {
            pending.printAfterSwap(n);
            return;
        }
        String jobKey = engine.definition().jobKey();
        BackgroundSlots.Outstanding<Void> previous = SLOTS.takeMine();
        if (previous != null) {
            SLOTS.await(previous); // a failure was logged by the task; the partition is still pending
        }
        SLOTS.submit(jobKey, n.partition(), null, () -> {
            try {
                pending.analyze(jobKey, n);
            } catch (RuntimeException e) {
                // Still 'pending' in partition_state: sampled again before contract, which fails the job if that fails too.
                log.warn("{}: its ANALYZE after the swap failed ({}); it runs again before contract", n.partition(),
                        Failures.message(e));
            }
        });
    }

    /** Waits for this process's outstanding ANALYZEs of the job ({@code null}: of every job). */
    public static void awaitAll(String jobKey) {
        SLOTS.awaitAll(jobKey);
    }

    /**
     * Before contract: every swapped-in partition of the job has the statistics P had. Waits for this
     * process's ANALYZEs, then samples each partition still pending itself (one a remote worker is analyzing
     * is waited for under lock_timeout and then found done). Throws when one cannot be analyzed: the job
     * does not complete without them, and restart tries again.
     */
    static void complete(Engine engine) {
        String jobKey = engine.definition().jobKey();
        awaitAll(jobKey);
        if (engine.sql().dryRun()) {
            return;
        }
        PendingStatistics pending = engine.indexBuild().pending();
        for (String partition : pending.swappedPending(jobKey)) {
            PartitionNames n; // a swapped partition, as a rule still attached: in its own schema
            try {
                n = io.pgrewrite.plan.PartitionWork.load(engine.catalog(), engine.definition(), partition).names();
            } catch (io.pgrewrite.plan.PartitionWork.Gone e) {
                n = PartitionNames.recorded(engine.sql().jdbc(), jobKey, partition, engine.definition().schema(), engine.definition().table());
            }
            if (pending.analyze(jobKey, n)) {
                log.info("{}: statistics sampled before contract (its ANALYZE after the swap had not committed)", partition);
            }
        }
    }
}
