package io.pgrewrite.remote;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import javax.sql.DataSource;

import io.pgrewrite.definition.JobDefinition;
import io.pgrewrite.definition.JobDefinitions;
import io.pgrewrite.job.Engine;
import io.pgrewrite.job.RewriteJob;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.batch.core.job.JobExecution;
import org.springframework.batch.core.launch.JobOperator;
import org.springframework.batch.core.repository.JobRepository;
import org.springframework.batch.core.step.StepExecution;
import org.springframework.batch.integration.partition.StepExecutionRequest;
import org.springframework.integration.channel.QueueChannel;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.messaging.Message;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * {@code pgrewrite worker}: takes partition requests from the JDBC channel and runs them, {@code threads}
 * at a time, with nothing but the database between it and the manager. The job definition comes with
 * the job (its ExecutionContext), so a worker needs no files. While a partition runs, the worker beats
 * every few seconds; on SIGTERM it takes no more requests and lets running partitions finish.
 */
public final class Worker {

    private static final Logger log = LoggerFactory.getLogger(Worker.class);

    private final DataSource dataSource;
    private final JobRepository repository;
    private final JobOperator operator;
    private final PlatformTransactionManager tm;
    private final QueueChannel requests;
    private final Heartbeats heartbeats;
    private final String id;
    private final AtomicLong lastWork = new AtomicLong(System.nanoTime());
    private final AtomicLong busy = new AtomicLong();
    private volatile boolean running = true;

    public Worker(DataSource dataSource, JobRepository repository, JobOperator operator, PlatformTransactionManager tm) {
        this.dataSource = dataSource;
        this.repository = repository;
        this.operator = operator;
        this.tm = tm;
        this.requests = RequestChannel.create(dataSource);
        this.heartbeats = new Heartbeats(new JdbcTemplate(dataSource));
        this.id = ManagementFactory.getRuntimeMXBean().getName();
    }

    /** Runs until {@link #stop()}, or until idle for {@code maxIdle} (null: forever). */
    public void run(int threads, Duration maxIdle) throws InterruptedException {
        log.info("worker {} taking partition requests with {} thread(s)", id, threads);
        List<Thread> consumers = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
            Thread t = new Thread(this::consume, "consumer-" + i);
            t.start();
            consumers.add(t);
        }
        while (running) {
            Thread.sleep(500);
            if (maxIdle != null && busy.get() == 0 && System.nanoTime() - lastWork.get() > maxIdle.toNanos()) {
                log.info("worker {} idle for {}; exiting", id, maxIdle);
                running = false;
            }
        }
        for (Thread t : consumers) {
            t.join();
        }
        io.pgrewrite.job.BackgroundRetire.awaitAll(null); // the last swapped partitions' retire
        io.pgrewrite.job.BackgroundAnalyze.awaitAll(null); // the last swapped partitions' statistics (statistics: after-swap)
    }

    /** Takes no more requests; partitions in progress run to their end. */
    public void stop() {
        running = false;
    }

    private void consume() {
        TransactionTemplate tx = new TransactionTemplate(tm);
        while (running) {
            try {
                // In a transaction, so the poll's FOR UPDATE SKIP LOCKED keeps other workers off this row.
                Message<?> m = tx.execute(s -> requests.receive(1000));
                if (m != null && m.getPayload() instanceof StepExecutionRequest request) {
                    busy.incrementAndGet();
                    try {
                        handle(request);
                    } finally {
                        busy.decrementAndGet();
                        lastWork.set(System.nanoTime());
                    }
                }
            } catch (RuntimeException e) {
                log.error("worker {}: {}", id, e.getMessage(), e);
                sleep();
            }
        }
    }

    /** Spring Batch's StepExecutionRequestHandler, except that the step is built from the job's own definition. */
    private void handle(StepExecutionRequest request) {
        long stepExecutionId = request.getStepExecutionId();
        heartbeats.beat(stepExecutionId, id);
        ScheduledExecutorService beat = Executors.newSingleThreadScheduledExecutor();
        beat.scheduleAtFixedRate(() -> {
            try {
                heartbeats.beat(stepExecutionId, id);
            } catch (RuntimeException e) {
                log.warn("heartbeat failed: {}", e.getMessage());
            }
        }, 2, 2, TimeUnit.SECONDS);
        try {
            StepExecution se = repository.getStepExecution(stepExecutionId);
            JobExecution je = repository.getJobExecution(se.getJobExecutionId());
            String yaml = je.getExecutionContext().getString(RewriteJob.DEFINITION);
            JobDefinition def = JobDefinitions.parse(yaml, Path.of(je.getJobParameters().getString(RewriteJob.FILE)));
            Engine engine = Engine.create(def, new JdbcTemplate(dataSource), new TransactionTemplate(tm), dataSource, false, System.out);
            se = repository.getStepExecution(se.getJobExecutionId(), stepExecutionId);
            log.info("worker {}: {}", id, se.getStepName());
            RewriteJob.workerStep(engine, repository, operator, tm).execute(se);
            log.info("worker {}: {} {}", id, se.getStepName(), se.getStatus());
        } catch (Exception e) {
            log.error("worker {}: step execution {} failed: {}", id, stepExecutionId, e.getMessage(), e);
        } finally {
            beat.shutdownNow();
            heartbeats.done(stepExecutionId);
        }
    }

    private static void sleep() {
        try {
            Thread.sleep(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
