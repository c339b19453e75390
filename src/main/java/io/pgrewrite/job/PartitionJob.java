package io.pgrewrite.job;

import java.util.function.Consumer;

import io.pgrewrite.copy.BadRow;
import io.pgrewrite.copy.InsertSelectWriter;
import io.pgrewrite.copy.BlockRange;
import io.pgrewrite.copy.BlockRangeReader;
import io.pgrewrite.copy.CopyPosition;
import io.pgrewrite.pg.LockRetry;
import io.pgrewrite.plan.PartitionWork;
import io.pgrewrite.swap.Swap;
import io.pgrewrite.swap.Verify;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.batch.core.job.Job;
import org.springframework.batch.core.job.builder.JobBuilder;
import org.springframework.batch.core.listener.StepExecutionListener;
import org.springframework.batch.core.repository.JobRepository;
import org.springframework.batch.core.step.Step;
import org.springframework.batch.core.step.StepExecution;
import org.springframework.batch.core.step.builder.ChunkOrientedStepBuilder;
import org.springframework.batch.core.step.builder.StepBuilder;
import org.springframework.batch.infrastructure.repeat.RepeatStatus;
import org.springframework.batch.core.ExitStatus;
import org.springframework.transaction.PlatformTransactionManager;

/**
 * The steps of one partition, as a job of its own ({@code rewrite-partition}, one instance per job and
 * partition): capture → copy → index → catch up → verify → swap → retire. Every step looks at the
 * catalog first and does only what is missing, and may run again on a restart (allowStartIfComplete):
 * after a clean rollback (a value that does not cast, a failed verification) the copy starts over,
 * after a crash it resumes after its last committed chunk, after a committed swap only retire runs.
 */
final class PartitionJob {

    static final String NAME = "rewrite-partition";
    private static final Logger log = LoggerFactory.getLogger(PartitionJob.class);

    private final Engine engine;
    private final JobRepository repository;
    private final PlatformTransactionManager tm;
    private final String partition;
    private final String restartHint;
    private final Consumer<Progress> progress;
    private final StopRequest stop;

    /** Rows copied so far for a partition, for progress output and metrics. */
    record Progress(String jobKey, String partition, long rows) {
    }

    PartitionJob(Engine engine, JobRepository repository, PlatformTransactionManager tm, String partition,
            String restartHint, Consumer<Progress> progress, StopRequest stop) {
        this.engine = engine;
        this.repository = repository;
        this.tm = tm;
        this.partition = partition;
        this.restartHint = restartHint;
        this.progress = progress;
        this.stop = stop;
    }

    /** The swap's exit status when P changed behind capture's back: the flow goes back to capture. */
    static final String REDO = "REDO";
    /** Copies of one partition thrown away in one run before it fails instead. */
    static final int MAX_REDOS = 3;
    private int redos;

    Job build() {
        Step capture = tasklet("capture", this::capture);
        Step swap = swapStep();
        return new JobBuilder(NAME, repository)
                .start(capture)
                .next(copy())
                .next(tasklet("index", w -> {
                    // The copy read pages, not keys: a row updated into a page not yet copied was copied
                    // twice. Its key is in the change log; replaying every logged key first makes the keys
                    // unique again. (Changes logged after the copy ended cannot have duplicated a row.)
                    engine.copyTarget().requireShape(w); // the parent changed since the copy: copy again
                    long replayed = engine.catchUp().everythingLoggedSoFar(w, engine.tx());
                    if (replayed > 0) {
                        log.info("{}: replayed {} changed keys before building the unique indexes", w.name(), replayed);
                    }
                    engine.indexBuild().build(w);
                    engine.state().set(w.jobKey(), w.name(), PartitionState.INDEXED);
                }))
                .next(tasklet("catch-up", this::catchUp))
                .next(tasklet("verify", this::verify))
                .next(swap)
                .on(REDO).to(capture)
                .from(swap).on(ExitStatus.COMPLETED.getExitCode()).to(retireStep())
                .end()
                .build();
    }

    private PartitionWork work() {
        return PartitionWork.load(engine.catalog(), engine.definition(), partition);
    }

    private boolean swapped() {
        String s = engine.state().state(engine.definition().jobKey(), partition);
        return PartitionState.SWAPPED.equals(s) || PartitionState.RETIRED.equals(s);
    }

    /**
     * A step before the swap; after the swap committed it has nothing left to do. Tasklets run outside
     * any transaction of the step's own ({@link Engine#NO_TRANSACTION}): each statement commits at once
     * or runs in a short transaction the step opens itself, so no lock a catalog function takes (on the
     * parent, on P) is held across the step, where it would block a swap.
     */
    private Step tasklet(String name, Consumer<PartitionWork> body) {
        return new StepBuilder(name, repository).tasklet((contribution, ctx) -> {
            if (!swapped() && !gone()) {
                body.accept(work());
            }
            return RepeatStatus.FINISHED;
        }, Engine.NO_TRANSACTION).allowStartIfComplete(true).build();
    }

    private void capture(PartitionWork w) {
        try {
            engine.diskBudget().reserve(w.jobKey(), w.name(), io.pgrewrite.plan.DiskEstimate.bytes(engine.sql().jdbc(),
                    w.definition(), w.partition()), engine.definition().disk().maxExtraBytes(),
                    engine.definition().disk().maxWait(), stop::requested);
        } catch (org.springframework.batch.core.job.JobInterruptedException e) {
            throw new IllegalStateException(e.getMessage(), e); // its cause makes Spring Batch end the step STOPPED
        }
        engine.state().set(w.jobKey(), w.name(), PartitionState.CAPTURING);
        engine.state().figure(w.jobKey(), w.name(), "bytes_before", w.partition().totalBytes());
        engine.capture().install(w.names(), w.table());
        FaultPoints.reach("capture:committed", w.name()); // trigger and log committed, the step not recorded
    }

    private Step copy() {
        // chunk-rows and pause as they are now: `pgrewrite set` may change them while the copy runs
        BlockRangeReader reader = new BlockRangeReader(this::work, engine.copyTarget(), engine.sql(), engine.copyPosition(),
                () -> stop.steering().definition().copy().chunkRows(), () -> stop.steering().definition().copy().pause());
        BadRow badRow = new BadRow(engine.sql().jdbc(), engine.tx(), restartHint);
        InsertSelectWriter writer = new InsertSelectWriter(reader::current, engine.sql(), engine.copyPosition(), badRow,
                (w, rows) -> progress.accept(new Progress(w.jobKey(), w.name(), rows)));
        return new ChunkOrientedStepBuilder<BlockRange, BlockRange>("copy", repository, 1)
                .reader(new SkippingReader(reader, () -> swapped() || gone()))
                .writer(writer)
                .transactionManager(tm)
                .interruptionPolicy(stop) // stop / end of window: at a chunk boundary
                .listener(new StepExecutionListener() {
                    @Override
                    public void beforeStep(StepExecution se) {
                        if (!swapped() && !gone()) {
                            engine.state().set(engine.definition().jobKey(), partition, PartitionState.COPYING);
                        }
                    }

                    @Override
                    public ExitStatus afterStep(StepExecution se) {
                        // After the chunk's transaction rolled back (it held locks on P__rw): clean rollback.
                        if (se.getFailureExceptions().stream().anyMatch(PartitionJob::isRowFailure)) {
                            rollback(reader.current());
                        }
                        if (se.getStartTime() != null && se.getExitStatus().getExitCode().equals("COMPLETED")) {
                            long ms = java.time.Duration.between(se.getStartTime(), java.time.LocalDateTime.now()).toMillis();
                            engine.state().figure(engine.definition().jobKey(), partition, "copy_ms", ms);
                        }
                        return null;
                    }
                })
                .allowStartIfComplete(true)
                .build();
    }

    private void catchUp(PartitionWork w) {
        // Until little is left; the swap catches up once more before it locks, and replays the last few
        // changes under its lock.
        long replayed = engine.catchUp().untilSmall(w, 500, 1000, engine.tx());
        if (replayed > 0) {
            log.info("{}: caught up {} changed keys", w.name(), replayed);
        }
    }

    private void verify(PartitionWork w) {
        Verify.Result r = engine.verify().verify(w);
        engine.state().figure(w.jobKey(), w.name(), "verify_result", r.describe());
        if (!r.ok()) {
            rollback(w);
            throw new IllegalStateException(w.name() + ": verification failed, " + r.describe()
                    + ". The partition is left attached and untouched and its copy was dropped; run " + restartHint
                    + " to copy it again, and report this if it happens twice.");
        }
        engine.state().set(w.jobKey(), w.name(), PartitionState.VERIFIED);
    }

    /**
     * swap, or — when P is no longer the table that was copied, or was written to past capture (TRUNCATE,
     * triggers disabled) — a clean rollback and {@link #REDO}: capture, copy, index, catch up and verify run
     * again on what P holds now.
     */
    private Step swapStep() {
        return new StepBuilder("swap", repository).tasklet((contribution, ctx) -> {
            if (!swapped() && !gone()) {
                PartitionWork w = work();
                try {
                    swap(w);
                } catch (Swap.SourceChangedException e) {
                    if (++redos > MAX_REDOS) {
                        throw new IllegalStateException(e.getMessage() + ", for the " + redos + "th time in this run. The"
                                + " partition is left attached and untouched; stop what keeps changing it behind its triggers,"
                                + " then run " + restartHint + ".", e);
                    }
                    log.warn("{}. Its copy is dropped and the partition is copied again from scratch.", e.getMessage());
                    rollback(w);
                    contribution.setExitStatus(new ExitStatus(REDO));
                }
            }
            return RepeatStatus.FINISHED;
        }, Engine.NO_TRANSACTION).allowStartIfComplete(true).build();
    }

    private void swap(PartitionWork w) {
        awaitSwap(w);
        engine.copyTarget().requireShape(w); // drift since the copy: a column or CHECK means copy again,
        engine.indexBuild().addMissing(w);   // an index added to the parent is built now, not under the lock
        LockRetry.Outcome<Long> o = engine.swap().swap(w);
        FaultPoints.reach("after-swap", w.name()); // the swap committed, nothing after it recorded
        if (o != null) {
            engine.state().figure(w.jobKey(), w.name(), "lock_wait_ms", o.lockWaitMs());
            engine.state().figure(w.jobKey(), w.name(), "lock_hold_ms", o.lockHoldMs());
            engine.state().figure(w.jobKey(), w.name(), "swap_attempts", o.attempts());
            log.info("{}: swapped in after {} attempt(s), lock wait {} ms, lock hold {} ms, {} changes replayed under lock",
                    w.name(), o.attempts(), Math.round(o.lockWaitMs()), String.format("%.1f", o.lockHoldMs()), o.value());
        }
    }

    /** No swap starts while swaps are postponed, the job is paused or throttled, or outside swap.window. */
    private void awaitSwap(PartitionWork w) {
        try {
            if (!stop.steering().awaitSwap(w.name(), stop::requested)) {
                throw new IllegalStateException(w.name() + ": stop requested before the swap",
                        new org.springframework.batch.core.job.JobInterruptedException(w.name() + ": stop requested before the swap"));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(w.name() + ": interrupted before the swap",
                    new org.springframework.batch.core.job.JobInterruptedException(w.name() + ": interrupted before the swap"));
        }
    }

    private Step retireStep() {
        return new StepBuilder("retire", repository).tasklet((contribution, ctx) -> {
            String jobKey = engine.definition().jobKey();
            if (!PartitionState.RETIRED.equals(engine.state().state(jobKey, partition)) && !gone()) {
                PartitionWork w = work();
                engine.retire().retire(w, engine.definition().retire() == io.pgrewrite.definition.Retire.KEEP);
                FaultPoints.reach("retire:committed", partition); // P__old and capture gone, state not yet "retired"
                engine.state().figure(jobKey, partition, "bytes_after", w.partition().totalBytes());
                if (engine.definition().retire() == io.pgrewrite.definition.Retire.KEEP) {
                    engine.diskBudget().keep(jobKey, partition, w.names().qOld()); // P__old still takes its space
                } else {
                    engine.diskBudget().release(jobKey, partition);
                }
                engine.state().set(jobKey, partition, PartitionState.RETIRED);
            }
            return RepeatStatus.FINISHED;
        }, tm).allowStartIfComplete(true).build();
    }

    /**
     * Whether the partition is gone: dropped by a retention job (or detached) while the job ran. Then
     * there is nothing left to rewrite: its copy, capture and reservation go, it is recorded as
     * {@code gone} (the report and status say so), and the job goes on with the others.
     */
    private boolean gone() {
        String jobKey = engine.definition().jobKey();
        String state = engine.state().state(jobKey, partition);
        if (PartitionState.GONE.equals(state)) {
            return true;
        }
        if (engine.sql().dryRun() || PartitionWork.attached(engine.sql().jdbc(), engine.definition(), partition)) {
            return false;
        }
        io.pgrewrite.plan.PartitionNames n = new io.pgrewrite.plan.PartitionNames(engine.definition().schema(), partition,
                engine.definition().schema(), engine.definition().table());
        engine.copyTarget().drop(n);
        // After a swap the capture trigger sits on P__old, which retire would have dropped: the DBA decides.
        engine.capture().remove(n, PartitionState.SWAPPED.equals(state) ? n.qOld() : n.qPartition());
        engine.diskBudget().release(jobKey, partition);
        engine.state().set(jobKey, partition, PartitionState.GONE);
        log.warn("{}: no longer a partition of {} (dropped by a retention job, or detached): skipped, its working copy and"
                + " change log dropped", partition, engine.definition().table());
        return true;
    }

    private static boolean isRowFailure(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof BadRow.RowFailedException) {
                return true;
            }
        }
        return false;
    }

    /** Clean rollback: P stays attached and untouched; its copy and capture go; the next run starts over. */
    private void rollback(PartitionWork w) {
        engine.copyTarget().drop(w.names());
        engine.capture().remove(w.names(), w.names().qPartition());
        engine.diskBudget().release(w.jobKey(), w.name());
        // Called from inside a failed chunk's transaction: record the state in a transaction of its own.
        engine.newTx().executeWithoutResult(s -> engine.state().set(w.jobKey(), w.name(), PartitionState.FAILED));
    }
}
