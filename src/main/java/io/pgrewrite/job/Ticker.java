package io.pgrewrite.job;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * One daemon thread for a sampler that looks at the database now and then (the disk and throttle samplers,
 * the progress of {@code run}, the meters): it never keeps the JVM alive, and {@link #close} stops it and
 * waits up to two seconds for a look under way, so nothing samples after its owner closed.
 */
public final class Ticker implements AutoCloseable {

    private final ScheduledExecutorService timer;

    public Ticker(String threadName) {
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, threadName);
            t.setDaemon(true);
            return t;
        });
    }

    /** Runs {@code task} every {@code every}, the first time after {@code first}. */
    public Ticker every(Duration first, Duration every, Runnable task) {
        timer.scheduleWithFixedDelay(task, first.toMillis(), every.toMillis(), TimeUnit.MILLISECONDS);
        return this;
    }

    /** Runs {@code task} once after {@code delay} (zero: now); nothing once closed. */
    public void after(Duration delay, Runnable task) {
        try {
            timer.schedule(task, delay.toMillis(), TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            // closed: the owner no longer wants samples
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
        try {
            timer.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
