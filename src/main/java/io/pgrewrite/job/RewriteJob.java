package io.pgrewrite.job;

import java.io.PrintStream;
import java.util.Comparator;
import java.util.Set;
import java.util.TreeSet;

import io.pgrewrite.plan.PartitionList;
import io.pgrewrite.plan.Table;
import org.springframework.batch.core.job.Job;
import org.springframework.batch.core.job.JobExecution;
import org.springframework.batch.core.job.builder.JobBuilder;
import org.springframework.batch.core.launch.JobOperator;
import org.springframework.batch.core.listener.JobExecutionListener;
import org.springframework.batch.core.partition.PartitionHandler;
import org.springframework.batch.core.partition.support.TaskExecutorPartitionHandler;
import org.springframework.batch.core.repository.JobRepository;
import org.springframework.batch.core.step.Step;
import org.springframework.batch.core.step.StepExecution;
import org.springframework.batch.core.step.builder.StepBuilder;
import org.springframework.batch.infrastructure.repeat.RepeatStatus;
import org.springframework.scheduling.concurrent.ThreadPoolTaskExecutor;
import org.springframework.transaction.PlatformTransactionManager;

/**
 * The one place that wires the steps in order: plan → expand → rewrite (one partition per worker:
 * capture → copy → index → catch up → verify → swap → retire) → contract → report.
 */
public final class RewriteJob {

    public static final String NAME = "rewrite";
    public static final String JOB_KEY = "job.key";
    public static final String FILE = "file";
    /** Identifying, from the second instance of a job key on: see {@link JobRunner#parameters}. */
    public static final String GENERATION = "pgrewrite.generation";
    /** In the execution context of an abandoned execution whose leftovers {@code abandon --cleanup} removed. */
    public static final String CLEANED_UP = "pgrewrite.cleaned-up";
    /** The definition's YAML, kept in the job's ExecutionContext: remote workers read it from there. */
    public static final String DEFINITION = "pgrewrite.definition";

    /** Whether {@code abandon --cleanup} removed what this (abandoned) execution left. */
    public static boolean cleanedUp(JobExecution e) {
        return e.getExecutionContext().containsKey(CLEANED_UP);
    }

    /** The generation of the job execution a step belongs to (0 when it has none). */
    static long generation(JobExecution e) {
        Long g = e.getJobParameters().getLong(GENERATION);
        return g == null ? 0 : g;
    }

    private final Engine engine;
    private final JobRepository repository;
    private final JobOperator operator;
    private final PlatformTransactionManager tm;
    private final PrintStream out;
    private final PartitionHandler remote;
    /** A local run's partition threads; null with remote workers. */
    private volatile ThreadPoolTaskExecutor localPool;

    /**
     * @param remote null: partitions run on {@code workers} local threads; otherwise the handler that
     *               sends them to remote workers
     */
    public RewriteJob(Engine engine, JobRepository repository, JobOperator operator, PlatformTransactionManager tm,
            PrintStream out, PartitionHandler remote) {
        this.engine = engine;
        this.repository = repository;
        this.operator = operator;
        this.tm = tm;
        this.out = out;
        this.remote = remote;
    }

    /** The worker step of {@code rewrite}: one partition's phases, under its advisory lock and a worker slot. */
    public static Step workerStep(Engine engine, JobRepository repository, JobOperator operator, PlatformTransactionManager tm) {
        ProgressLog progress = new ProgressLog();
        Steering steering = new Steering(engine.sql().jdbc(), engine.definition());
        StopRequest stop = new StopRequest(steering, engine.definition().jobKey());
        return new PartitionJobStep(NAME, repository, new org.springframework.transaction.support.TransactionTemplate(tm),
                engine.definition().jobKey(), partition -> new PartitionJob(
                engine, partition, "`pgrewrite restart` (or `pgrewrite run` of the same file)", progress, stop),
                engine.dataSource(), () -> steering.definition().workers(), stop);
    }

    /** The autovacuum tally when this run began; the report sums what came after. */
    private volatile long[] autovacuumMark = io.pgrewrite.pg.LockRetry.AUTOVACUUM_IN_THE_WAY.mark();

    public Job build() {
        return new JobBuilder(NAME, repository)
                .listener(new JobExecutionListener() {
                    private DiskSampler sampler;
                    private ThrottleSampler throttle;

                    @Override
                    public void beforeJob(JobExecution je) {
                        try {
                            je.getExecutionContext().putString(DEFINITION, java.nio.file.Files.readString(engine.definition().file()));
                        } catch (java.io.IOException e) {
                            throw new java.io.UncheckedIOException("cannot read " + engine.definition().file(), e);
                        }
                        // stored now, not after plan: `set workers=N` reads the workers from it (a restart's context is
                        // the last execution's until then, with the file's text as it was)
                        repository.updateExecutionContext(je);
                        autovacuumMark = io.pgrewrite.pg.LockRetry.AUTOVACUUM_IN_THE_WAY.mark();
                        sampler = new DiskSampler(engine.sql().jdbc(), je.getId()).start();
                        throttle = new ThrottleSampler(engine.sql().jdbc(), engine.dataSource(), engine.definition(), je.getId(),
                                RewriteJob.this::workersChanged).start();
                    }

                    @Override
                    public void afterJob(JobExecution je) {
                        BackgroundRetire.awaitAll(engine.definition().jobKey()); // a stopped or failed run's too
                        BackgroundAnalyze.awaitAll(engine.definition().jobKey());
                        sampler.close();
                        throttle.close();
                        release(); // idle connections above what other jobs hold retire after Hikari's idle timeout
                    }
                })
                .start(tasklet("plan", () -> engine.planner().plan(engine.definition())))
                .next(restartable(tasklet("expand", () -> engine.shapeChange().expand(engine.definition(), table()))))
                .next(rewrite())
                .next(tasklet("contract", () -> {
                    BackgroundRetire.complete(engine); // no P__old, change log or capture function left behind
                    BackgroundAnalyze.complete(engine); // contract locks every partition: statistics first, all of them
                    engine.shapeChange().contract(engine.definition(), table());
                }))
                .next(new StepBuilder("report", repository).tasklet((c, ctx) -> {
                    io.pgrewrite.pg.Durability.flush(engine.dataSource()); // contract and every swap durable before "done"
                    new Report(engine.sql().jdbc()).print(out, engine.definition().jobKey(),
                            ctx.getStepContext().getStepExecution().getJobExecution().getId());
                    // Lock attempts of this process since the run began (a scheduler's jobs each count their own; a
                    // remote worker's attempts are in its own log file).
                    String autovacuum = io.pgrewrite.pg.LockRetry.AUTOVACUUM_IN_THE_WAY.summarySince(autovacuumMark);
                    if (autovacuum != null) {
                        out.println(autovacuum);
                    }
                    return RepeatStatus.FINISHED;
                }, Engine.NO_TRANSACTION).allowStartIfComplete(true).build())
                .build();
    }

    private Table table() {
        return engine.catalog().find(engine.definition().schema(), engine.definition().table()).orElseThrow();
    }

    /** Outside a transaction of the step's own: no lock a catalog function takes is held across the step. */
    private Step tasklet(String name, Runnable body) {
        return new StepBuilder(name, repository).tasklet((c, ctx) -> {
            body.run();
            return RepeatStatus.FINISHED;
        }, Engine.NO_TRANSACTION).build();
    }

    private static Step restartable(Step step) {
        ((org.springframework.batch.core.step.AbstractStep) step).setAllowStartIfComplete(true);
        return step;
    }

    private Step rewrite() {
        PartitionHandler handler = remote;
        if (handler == null) {
            int workers = engine.definition().workers();
            // a restart (from the command line, the dashboard or the scheduler) opened its pool before it knew the job
            growConnections(engine.dataSource(), 0, connectionsFor(workers));
            ThreadPoolTaskExecutor pool = new ThreadPoolTaskExecutor();
            pool.setCorePoolSize(workers);
            pool.setMaxPoolSize(workers);
            pool.setThreadNamePrefix("worker-");
            pool.initialize();
            localPool = pool;
            TaskExecutorPartitionHandler local = new OrderedPartitionHandler();
            local.setStep(workerStep(engine, repository, operator, tm));
            local.setTaskExecutor(pool);
            handler = local;
        }
        return new StepBuilder(NAME, repository)
                .partitioner(NAME, new PartitionList(engine.planner(), engine.definition()))
                .partitionHandler(handler)
                .listener(new org.springframework.batch.core.listener.StepExecutionListener() {
                    @Override
                    public void beforeStep(org.springframework.batch.core.step.StepExecution se) {
                        // A restart after a kill (or a failed retire) between a worker step's COMPLETED and its retire:
                        // that step does not run again, so its P__old and disk reservation go here, before any other.
                        BackgroundRetire.leftovers(engine, "when the job began again");
                        ThreadPoolTaskExecutor threads = localPool;
                        if (threads != null) { // plan (or restart) checked the server has them
                            reserve(connectionsFor(threads.getMaxPoolSize()));
                        }
                    }
                })
                .build();
    }

    /**
     * {@code pgrewrite set ID workers=N}: the job's worker slots follow at once (PartitionLocks); a local run
     * also gets the threads for them. The partitions not started yet are queued in plan order, so the new
     * threads take the next ones. The process's connection pool grows with them ({@link #connectionsFor}): each
     * worker holds its slot's and its partition's session locks on connections of their own while it copies, verifies
     * and waits for its swap, so threads without connections for them would wait on the pool, then fail their
     * partition. Never shrunk: fewer slots keep the extra threads (and connections) idle.
     */
    private void workersChanged(int workers) {
        ThreadPoolTaskExecutor pool = localPool;
        if (pool != null && workers > pool.getMaxPoolSize()) {
            growConnections(engine.dataSource(), (workers - pool.getMaxPoolSize()) * PER_WORKER, 0);
            pool.setMaxPoolSize(workers);
            pool.setCorePoolSize(workers);
            reserve(connectionsFor(workers)); // set checked the server has them
        }
    }

    static final int PER_WORKER = io.pgrewrite.plan.ConnectionBudget.PER_WORKER;

    /** The connections a process running one job with this many workers needs at most (its pool's size). */
    public static int connectionsFor(int workers) {
        return io.pgrewrite.plan.ConnectionBudget.poolFor(workers);
    }

    /** Adds {@code more} connections to the process's pool, and more still if it then holds fewer than {@code atLeast}. */
    private static synchronized void growConnections(javax.sql.DataSource dataSource, int more, int atLeast) {
        try {
            if (dataSource.isWrapperFor(com.zaxxer.hikari.HikariDataSource.class)) {
                com.zaxxer.hikari.HikariConfigMXBean config = dataSource.unwrap(com.zaxxer.hikari.HikariDataSource.class)
                        .getHikariConfigMXBean();
                int was = config.getMaximumPoolSize();
                int size = Math.max(was + more, atLeast);
                if (size > was) {
                    org.slf4j.LoggerFactory.getLogger(RewriteJob.class).info("connection pool: {} connections (was {})", size, was);
                    config.setMaximumPoolSize(size);
                }
            }
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException("cannot resize the connection pool", e);
        }
    }

    /** The connections this job holds open in its process's pool (its part of {@link #reservedInProcess}). */
    private int reservedHere;

    /** Raises this job's reservation to {@code connections} (never lowers it while the job runs: the pool never shrinks). */
    private synchronized void reserve(int connections) {
        if (connections > reservedHere) {
            int more = connections - reservedHere;
            reservedHere = connections;
            reserveConnections(engine.dataSource(), more);
        }
    }

    private synchronized void release() {
        reserveConnections(engine.dataSource(), -reservedHere);
        reservedHere = 0;
    }

    /** What the jobs running in this process hold open in all (a scheduler's or a dashboard's process runs several). */
    private static int reservedInProcess;

    /**
     * Opens the connections a check approved, and keeps them open (Hikari's minimum-idle raised to what the process's
     * running jobs were approved, at most the pool's size), once plan, restart or {@code set} checked that the server can
     * spare them (plan.ConnectionBudget): they then show in pg_stat_activity, so the next check (of another job, or of a
     * raise) counts them, and the application cannot take them half-way through the job and leave a worker waiting for a
     * connection while it holds its locks. A job that ends gives its part back (minimum-idle lowered: idle connections
     * above it close after Hikari's idle timeout). Until then the pool opens only what is asked for (AppContext). Hikari
     * opens them in its own thread; where the server refuses one (it filled up since the check) Hikari tries again, and
     * the workers get the ones there are.
     */
    private static synchronized void reserveConnections(javax.sql.DataSource dataSource, int more) {
        try {
            if (more == 0 || !dataSource.isWrapperFor(com.zaxxer.hikari.HikariDataSource.class)) {
                return;
            }
            reservedInProcess = Math.max(0, reservedInProcess + more);
            com.zaxxer.hikari.HikariDataSource hikari = dataSource.unwrap(com.zaxxer.hikari.HikariDataSource.class);
            com.zaxxer.hikari.HikariConfigMXBean config = hikari.getHikariConfigMXBean();
            config.setMinimumIdle(Math.max(1, Math.min(config.getMaximumPoolSize(), reservedInProcess)));
            com.zaxxer.hikari.HikariPoolMXBean pool = hikari.getHikariPoolMXBean();
            if (more > 0 && pool != null && pool.getIdleConnections() > 0) {
                // Hikari fills the pool up to its minimum-idle after it closes a connection: evicting an idle one starts
                // that now rather than at its next housekeeping (30 s). Nothing waits for it. With none idle, the
                // housekeeping does it.
                java.sql.Connection c = dataSource.getConnection();
                hikari.evictConnection(c);
            }
        } catch (java.sql.SQLException e) {
            org.slf4j.LoggerFactory.getLogger(RewriteJob.class).warn("could not open the connection pool's connections ahead ({});"
                    + " the pool opens them as the workers ask for them", e.getMessage());
        }
    }

    /** Submits partitions in plan order (oldest first), not in a HashSet's order. */
    static final class OrderedPartitionHandler extends TaskExecutorPartitionHandler {
        @Override
        protected Set<StepExecution> doHandle(StepExecution manager, Set<StepExecution> partitions) throws Exception {
            Set<StepExecution> ordered = new TreeSet<>(Comparator
                    .comparingInt((StepExecution s) -> s.getExecutionContext().getInt(PartitionList.ORDER, 0))
                    .thenComparing(StepExecution::getStepName));
            ordered.addAll(partitions);
            return super.doHandle(manager, new java.util.LinkedHashSet<>(ordered));
        }
    }
}
