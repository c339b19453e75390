package io.pgrewrite.job;

import java.util.function.Consumer;

import io.pgrewrite.copy.BadRow;
import io.pgrewrite.copy.BlockRange;
import io.pgrewrite.copy.BlockRangeReader;
import io.pgrewrite.copy.InsertSelectWriter;
import io.pgrewrite.pg.LockRetry;
import io.pgrewrite.plan.PartitionWork;
import io.pgrewrite.swap.Verify;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.batch.core.job.JobInterruptedException;
import org.springframework.batch.core.step.StepExecution;
import org.springframework.batch.infrastructure.item.Chunk;
import org.springframework.batch.infrastructure.item.ExecutionContext;

/**
 * The phases of one partition: capture → copy → index → catch up → verify → swap → retire, run inside its
 * worker step {@code rewrite:P} ({@link PartitionJobStep}). They were steps of a job of their own once; as
 * phases of one step a partition costs one step execution in the JobRepository instead of a job instance,
 * an execution and seven steps (about 70 JobRepository transactions, each a WAL flush), which for a small
 * partition cost more than its rewrite. When each phase ran goes to {@code pgrewrite.partition_state.phases}.
 */
final class PartitionJob {

    private static final Logger log = LoggerFactory.getLogger(PartitionJob.class);

    private final Engine engine;
    private final String partition;
    private final String restartHint;
    private final Consumer<Progress> progress;
    private final StopRequest stop;

    /** Rows copied so far for a partition, for progress output and metrics. */
    record Progress(String jobKey, String partition, long rows) {
    }

    private final PartitionState.Phases phases;
    /** The catalog as read just before capture, when nothing happened in between. */
    private PartitionWork preloaded;

    PartitionJob(Engine engine, String partition, String restartHint, Consumer<Progress> progress, StopRequest stop) {
        this.engine = engine;
        this.partition = partition;
        this.phases = engine.state().phases(engine.definition().jobKey(), partition);
        this.restartHint = restartHint;
        this.progress = progress;
        this.stop = stop;
    }

    /** Copies of one partition thrown away in one run before it fails instead. */
    static final int MAX_REDOS = 3;
    private int redos;

    /**
     * The partition's algorithm, in the order of the README. Each phase looks at the catalog first and does
     * only what is missing, so a restart (or a second run after a crash between a phase's work and its
     * record) runs them all again: after a clean rollback (a value that does not cast, a failed
     * verification) the copy starts over, after a crash it resumes after its last committed chunk (its
     * position is in pgrewrite.partition_state, committed with each chunk), after a committed swap only
     * retire runs.
     *
     * @param se the worker step {@code rewrite:P}: its stop mark and interruption at chunk boundaries
     */
    void run(StepExecution se) throws JobInterruptedException {
        try {
            rewrite(se);
        } catch (PartitionWork.Gone e) {
            if (!gone()) { // dropped while it ran: its copy, capture and reservation go
                throw e;
            }
        } finally {
            phases.save();
        }
    }

    private void rewrite(StepExecution se) throws JobInterruptedException {
        String state = engine.state().state(engine.definition().jobKey(), partition);
        // Never begun: the catalog read just below (work()) finds a partition that is gone and throws Gone, which
        // run() handles as gone() would here, so the round trip of gone()'s own catalog read is saved.
        if (PartitionState.EMPTY.equals(state) || (state != null && gone(state))) {
            return;
        }
        if (state == null && !engine.sql().dryRun()) {
            preloaded = work(); // capture goes on from it
            if (EmptyPartition.skip(engine.sql().jdbc(), engine.definition(), preloaded.partition())) {
                log.info("{}: empty, nothing to rewrite", partition);
                return;
            }
        }
        // The state just read answers the first "swapped?" (nothing of this partition's ran since).
        io.pgrewrite.plan.PartitionNames swappedHere = null;
        for (boolean first = true; !(first ? swapped(state) : swapped()); first = false) {
            // The catalog is read at capture (the copy goes on from it), at index (catch up, verify and swap go on
            // from it) and at retire: a parent that drifted meanwhile is found by index or by swap, which read its
            // shape again right before they act (requireShape), and the copy is taken again; a partition dropped or
            // detached before the swap began is found by the swap's own catalog read (Gone; during its lock attempts,
            // the swap fails and restart finds it gone).
            PartitionWork captured = phase("capture", () -> {
                PartitionWork w = preloaded != null ? preloaded : work();
                preloaded = null;
                capture(w);
                return w;
            });
            copy(se, captured);
            if (indexToSwap(captured)) {
                afterSwap(captured);
                swappedHere = captured.names();
                break;
            }
        }
        if (swappedHere != null) {
            // Swapped in this run just now: retired in the background while the next partition runs; this
            // phase is the wait for this worker's previous retire.
            io.pgrewrite.plan.PartitionNames n = swappedHere;
            phase("retire", () -> BackgroundRetire.afterSwap(engine, n));
        } else {
            phase("retire", this::retire); // swapped by an earlier run: retired now, unless it was
        }
    }

    /**
     * index → catch up → verify → swap. False when P turned out not to be what was copied (writes behind its triggers, its
     * bound changed, the parent's columns or CHECKs changed): then it was rolled back, and capture and copy run again on what P holds now.
     */
    private boolean indexToSwap(PartitionWork captured) {
        try {
            PartitionWork indexed = phase("index", () -> {
                PartitionWork w = work();
                // The copy read pages, not keys: a row updated into a page not yet copied was copied
                // twice. Its key is in the change log; replaying every logged key first makes the keys
                // unique again. (Changes logged after the copy ended cannot have duplicated a row.)
                engine.copyTarget().requireShape(w); // the parent changed since the copy: copy again
                long replayed = engine.catchUp().everythingLoggedSoFar(w, engine.tx());
                if (replayed > 0) {
                    log.info("{}: replayed {} changed keys before building the unique indexes", w.name(), replayed);
                }
                engine.indexBuild().build(w, PartitionState.INDEXED); // recorded with its statistics, one commit
                return w;
            });
            FaultPoints.reach("index:committed", indexed.name()); // indexed and recorded, the catch-up not begun
            phase("catch-up", () -> catchUp(indexed));
            phase("verify", () -> verify(indexed));
            phase("swap", () -> swap(indexed));
            return true;
        } catch (PartitionWork.SourceChanged e) {
            redo(captured, e);
            return false;
        }
    }

    /** Runs one phase and records when it ran; returns the phase's result. */
    private <T> T phase(String name, java.util.function.Supplier<T> body) {
        long start = System.currentTimeMillis();
        try {
            return body.get();
        } finally {
            phases.ran(name, start, System.currentTimeMillis());
        }
    }

    private void phase(String name, Runnable body) {
        phase(name, () -> {
            body.run();
            return null;
        });
    }

    private PartitionWork work() {
        return PartitionWork.load(engine.catalog(), engine.definition(), partition);
    }

    private boolean swapped() {
        return swapped(engine.state().state(engine.definition().jobKey(), partition));
    }

    private static boolean swapped(String s) {
        return PartitionState.SWAPPED.equals(s) || PartitionState.RETIRED.equals(s);
    }

    private void capture(PartitionWork w) {
        if (engine.definition().disk().maxExtraBytes() != null) {
            BackgroundRetire.awaitMine(); // its release of the previous partition's reservation counts for this one
        }
        try {
            engine.diskBudget().reserve(w.jobKey(), w.name(), io.pgrewrite.plan.DiskEstimate.bytes(engine.sql().jdbc(),
                    w.definition(), w.partition()), engine.definition().disk().maxExtraBytes(),
                    engine.definition().disk().maxWait(), stop::requested, () -> {
                        // In the reservation's transaction: one commit for both (a kill before it leaves neither).
                        engine.state().set(w.jobKey(), w.name(), PartitionState.CAPTURING, "bytes_before", w.partition().totalBytes());
                        FaultPoints.reach("capture:reserving", w.name()); // reserved and recorded capturing, not committed
                    });
        } catch (JobInterruptedException e) {
            throw new IllegalStateException(e.getMessage(), e); // its cause makes Spring Batch end the step STOPPED
        }
        engine.capture().install(w.names(), w.table());
        FaultPoints.reach("capture:committed", w.name()); // trigger and log committed, nothing after it recorded
    }

    /**
     * copy: one range of heap pages per transaction, the next page to copy committed with its rows (so a
     * restart resumes after the last committed chunk); stop, pause and throttle act between two chunks.
     */
    private void copy(StepExecution se, PartitionWork captured) throws JobInterruptedException {
        long start = System.currentTimeMillis();
        // chunk-rows and pause as they are now: `pgrewrite set` may change them while the copy runs
        BlockRangeReader reader = new BlockRangeReader(() -> captured, engine.copyTarget(), engine.sql(), engine.copyPosition(),
                () -> stop.steering().definition().copy().chunkRows(), () -> stop.steering().definition().copy().pause());
        BadRow badRow = new BadRow(engine.sql().jdbc(), engine.tx(), restartHint);
        InsertSelectWriter writer = new InsertSelectWriter(reader::current, engine.sql(), engine.copyPosition(), badRow,
                (w, rows) -> progress.accept(new Progress(w.jobKey(), w.name(), rows)));
        engine.state().copying(engine.definition().jobKey(), partition);
        try {
            reader.open(new ExecutionContext());
            for (;;) {
                stop.checkInterrupted(se); // stop / end of window / pause: at a chunk boundary
                BlockRange range = reader.read();
                if (range == null) {
                    break;
                }
                engine.tx().executeWithoutResult(s -> writer.write(Chunk.of(range)));
            }
        } catch (RuntimeException e) {
            // After the chunk's transaction rolled back (it held locks on P__rw): clean rollback.
            if (isRowFailure(e) && reader.current() != null) {
                rollback(reader.current());
            }
            throw e;
        } finally {
            phases.ran("copy", start, System.currentTimeMillis());
        }
        engine.state().figure(engine.definition().jobKey(), partition, "copy_ms", System.currentTimeMillis() - start);
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
        if (r.ok()) {
            engine.state().set(w.jobKey(), w.name(), PartitionState.VERIFIED, "verify_result", r.describe());
            FaultPoints.reach("verify:recorded", w.name()); // verified and recorded, the swap not begun
            return;
        }
        engine.state().figure(w.jobKey(), w.name(), "verify_result", r.describe());
        rollback(w);
        throw new IllegalStateException(w.name() + ": verification failed, " + r.describe()
                + ". The partition is left attached and untouched and its copy was dropped; run " + restartHint
                + " to copy it again, and report this if it happens twice.");
    }

    /**
     * P is no longer what was copied: a clean rollback (its capture must not go on logging the application's writes, nor
     * its copy keep its space, while nobody copies it), then copied again; or, the {@link #MAX_REDOS}th time in this
     * run, a failure that says what keeps changing it.
     */
    private void redo(PartitionWork w, PartitionWork.SourceChanged e) {
        rollback(w);
        if (++redos > MAX_REDOS) {
            throw new IllegalStateException(e.getMessage() + ", for the " + redos + "th time in this run. The partition is left"
                    + " attached and untouched, and its copy and change log were dropped; " + e.remedy() + ", then run "
                    + restartHint + ".", e);
        }
        log.warn("{}. Its copy is dropped and the partition is copied again from scratch.", e.getMessage());
    }

    private void swap(PartitionWork w) {
        awaitSwap(w);
        // Drift since the copy: a column or CHECK means copy again, an index added to the parent (or a NOT VALID
        // CHECK) is built now, not under the lock. One catalog round trip for both questions.
        if (engine.copyTarget().requireShape(w)) {
            engine.indexBuild().build(w);
        }
        LockRetry.Outcome<Long> o = engine.swap().swap(w);
        FaultPoints.reach("after-swap", w.name()); // the swap committed, nothing after it recorded
        if (o != null) {
            engine.state().figures(w.jobKey(), w.name(), "lock_wait_ms", o.lockWaitMs(), "lock_hold_ms", o.lockHoldMs(),
                    "swap_attempts", o.attempts());
            log.info("{}: swapped in after {} attempt(s), lock wait {} ms, lock hold {} ms, {} changes replayed under lock",
                    w.name(), o.attempts(), Math.round(o.lockWaitMs()), String.format("%.1f", o.lockHoldMs()), o.value());
        }
    }

    /**
     * {@code statistics: after-swap}: the swapped-in partition's ANALYZE starts in the background (after this
     * worker's previous one ended: the wait is this phase's time) and the worker goes on with retire.
     */
    private void afterSwap(PartitionWork w) {
        if (engine.indexBuild().when() != io.pgrewrite.definition.Statistics.AFTER_SWAP) {
            return;
        }
        FaultPoints.reach("statistics:before-analyze", w.name()); // swapped, its statistics recorded as pending
        phase("statistics", () -> BackgroundAnalyze.afterSwap(engine, w.names()));
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

    private void retire() {
        if (PartitionState.RETIRED.equals(engine.state().state(engine.definition().jobKey(), partition))) {
            return;
        }
        BackgroundRetire.retireNow(engine, work().names());
    }

    /**
     * Whether the partition is gone: dropped by a retention job (or detached) while the job ran. Then
     * there is nothing left to rewrite: its copy, capture and reservation go, it is recorded as
     * {@code gone} (the report and status say so), and the job goes on with the others.
     */
    private boolean gone() {
        return gone(engine.state().state(engine.definition().jobKey(), partition));
    }

    /** {@link #gone()}, with the partition's state as just read. */
    private boolean gone(String state) {
        String jobKey = engine.definition().jobKey();
        if (PartitionState.GONE.equals(state)) {
            return true;
        }
        if (engine.sql().dryRun() || PartitionWork.attached(engine.sql().jdbc(), engine.definition(), partition)) {
            return false;
        }
        io.pgrewrite.plan.PartitionNames n = io.pgrewrite.plan.PartitionNames.recorded(engine.sql().jdbc(), jobKey, partition,
                engine.definition().schema(), engine.definition().table());
        String renamed = engine.state().renamedTo(jobKey, partition, n.qParent()); // before capture goes (it reads the record)
        engine.copyTarget().drop(n);
        // After a swap the capture trigger sits on P__old, which retire would have dropped: the DBA decides. A partition
        // renamed since carries it under its new name: removed from there too.
        engine.capture().remove(n, PartitionState.SWAPPED.equals(state) ? n.qOld() : n.qPartition());
        engine.diskBudget().release(jobKey, partition);
        engine.state().set(jobKey, partition, PartitionState.GONE);
        if (renamed != null) {
            log.warn("{}: renamed to {} while the job ran: this job does not rewrite it (it knows its partitions by name);"
                    + " its working copy and change log were dropped. A new job rewrites it under its new name", partition, renamed);
        } else {
            log.warn("{}: no longer a partition of {} (dropped by a retention job, or detached): skipped, its working copy and"
                    + " change log dropped", partition, engine.definition().table());
        }
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
