package io.pgrewrite.job;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import org.springframework.batch.core.job.JobInterruptedException;

/**
 * What {@link BackgroundAnalyze} and {@link BackgroundRetire} share: a task that runs after a swap on a daemon
 * thread (and so a connection) of its own, at most one outstanding for each worker thread (backpressure, not a
 * queue), waited for by the worker before its next one and by job before contract and when the job ends.
 *
 * @param <C> what the caller keeps with an outstanding task (what runs it again if it failed)
 */
final class BackgroundSlots<C> {

    /** A task under way: its job, its partition, the caller's context, its outcome. */
    record Outstanding<C>(String jobKey, String partition, C context, Future<?> done) {
    }

    private final String what;
    private final boolean keptWhenInterrupted;
    private final ExecutorService pool;
    private final Map<Thread, Outstanding<C>> slots = new ConcurrentHashMap<>();

    /**
     * @param threadPrefix        the pool's thread names, {@code <prefix>-<n>}
     * @param what                the task in messages ("ANALYZE", "retire")
     * @param keptWhenInterrupted whether a wait that is interrupted (a stop) leaves the task in its slot, so that
     *                            the job's end still waits for it
     */
    BackgroundSlots(String threadPrefix, String what, boolean keptWhenInterrupted) {
        this.what = what;
        this.keptWhenInterrupted = keptWhenInterrupted;
        AtomicInteger threads = new AtomicInteger();
        // Daemon threads, as many as there are worker threads with one outstanding (the slots bound them).
        this.pool = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, threadPrefix + "-" + threads.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /** Starts {@code task} as this worker thread's outstanding one (the caller has waited for the previous). */
    void submit(String jobKey, String partition, C context, Runnable task) {
        Future<?> f = pool.submit(task);
        slots.put(Thread.currentThread(), new Outstanding<>(jobKey, partition, context, f));
    }

    /** This worker thread's outstanding task, taken from its slot; {@code null} when there is none. */
    Outstanding<C> takeMine() {
        return slots.remove(Thread.currentThread());
    }

    /** Waits for this process's outstanding tasks of the job ({@code null}: of every job). */
    void awaitAll(String jobKey) {
        for (Map.Entry<Thread, Outstanding<C>> e : slots.entrySet()) {
            if (jobKey == null || jobKey.equals(e.getValue().jobKey())) {
                await(e.getValue());
                slots.remove(e.getKey(), e.getValue());
            }
        }
    }

    /**
     * Whether the task ended normally; false when it threw (the task logs its own failure). An interrupt (a stop)
     * throws with a {@link JobInterruptedException} cause, which makes the partition end STOPPED, not FAILED.
     */
    boolean await(Outstanding<C> o) {
        try {
            o.done().get();
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            if (keptWhenInterrupted) {
                slots.putIfAbsent(Thread.currentThread(), o); // still under way: the job's end waits for it
            }
            String message = o.partition() + ": interrupted while waiting for its " + what;
            throw new IllegalStateException(message, new JobInterruptedException(message));
        } catch (ExecutionException e) {
            return false;
        }
    }
}
