package io.pgrewrite.job;

import java.util.List;
import java.util.Map;

import io.pgrewrite.definition.Retire;
import io.pgrewrite.pg.RoundTrip;
import io.pgrewrite.plan.PartitionNames;
import io.pgrewrite.plan.PartitionWork;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * retire in the background: once a partition's swap committed, dropping its {@code P__old}, change log and
 * capture function (and recording it retired) runs on a thread and connection of its own while the worker goes
 * on with the next partition. On many small partitions retire was a sixth of a partition's time on the worker's
 * chain (a catalog read, the drops, a commit that always flushes WAL because it unlinks files, the bookkeeping),
 * and nothing after the swap needs it done. Bounded as {@link BackgroundAnalyze}: each worker thread has at most
 * one outstanding, and its next retire waits for the previous one. Before contract, and when the job ends, the
 * job's outstanding ones are waited for; then {@link #complete} retires every partition still recorded as
 * swapped (a kill after the worker step recorded COMPLETED but before its retire committed, a retire that failed,
 * a remote worker that died), so no job completes with a {@code P__old} or a change log left behind. A kill
 * anywhere leaves either a swapped partition with its {@code P__old}, log and function (retire's transaction did
 * not commit), or a retired one without them: {@code restart} retires the former, {@code abandon --cleanup}
 * keeps or drops its {@code P__old} and removes the rest.
 * <p>
 * A job with {@code disk.max-extra} waits for its worker's outstanding retire before it reserves the next
 * partition's space (see {@link #awaitMine}): the reservation is released by retire, and the budget's wait
 * polls once a second.
 */
public final class BackgroundRetire {

    private static final Logger log = LoggerFactory.getLogger(BackgroundRetire.class);

    /** What retires a partition again if its retire in the background failed. */
    private record Again(Engine engine, PartitionNames names) {
    }

    /** The outstanding retire of each worker thread; a stop leaves one under way in its slot for the job's end. */
    private static final BackgroundSlots<Again> SLOTS = new BackgroundSlots<>("retire", "retire", true);

    private BackgroundRetire() {
    }

    /**
     * Right after the swap of {@code n.partition()} committed: its retire in the background, once this worker
     * thread's previous one has ended (the wait is the worker's "retire" phase). Under dry run the statements
     * are printed here instead.
     */
    static void afterSwap(Engine engine, PartitionNames n) {
        if (engine.sql().dryRun()) {
            retireNow(engine, n);
            return;
        }
        awaitMine();
        String jobKey = engine.definition().jobKey();
        // A failure is the Future's: the worker's next wait retires the partition again, or fails (see awaitMine).
        SLOTS.submit(jobKey, n.partition(), new Again(engine, n), () -> {
            try {
                retireNow(engine, n);
            } catch (RuntimeException | Error e) {
                log.warn("{}: its retire after the swap failed ({}); it is still recorded as swapped", n.partition(),
                        Failures.message(e));
                throw e;
            }
        });
    }

    /**
     * Waits for this worker thread's outstanding retire, if any. One that failed (its locks not granted within its
     * retries, a lost connection) is retried here, on the worker's own connection; if that fails too, this worker's
     * current partition fails with it, and the job stops there: at most one partition's {@code P__old} and disk
     * reservation outlive their swap, where failures swallowed one after the other would let every later partition
     * keep its {@code P__old} (the disk a rewrite exists to spare) and, under {@code disk.max-extra}, hold the budget
     * that the next partition waits for. A restart retires it first ({@link #leftovers}).
     */
    static void awaitMine() {
        BackgroundSlots.Outstanding<Again> previous = SLOTS.takeMine();
        if (previous == null) {
            return;
        }
        if (!SLOTS.await(previous)) {
            log.warn("{}: retrying its retire on the worker's connection", previous.partition());
            retireNow(previous.context().engine(), previous.context().names());
        }
    }

    /**
     * Waits for this process's outstanding retires of the job ({@code null}: of every job). A failed one stays
     * recorded as swapped: {@link #complete} before contract, or {@link #leftovers} when the job is restarted,
     * retires it.
     */
    public static void awaitAll(String jobKey) {
        SLOTS.awaitAll(jobKey);
    }

    /**
     * Before contract: every swapped partition of the job is retired. Waits for this process's outstanding
     * retires, then retires each partition still recorded as swapped itself. Throws when one cannot be: the job
     * does not complete with it, and restart tries again.
     */
    static void complete(Engine engine) {
        awaitAll(engine.definition().jobKey());
        leftovers(engine, "before contract");
    }

    /**
     * Retires every partition of the job still recorded as swapped, on the caller's thread: before contract, and
     * when the partitioned step begins (a run killed, or failed, after a partition's worker step had recorded
     * COMPLETED and before its retire committed: restart does not run that step again, and its disk reservation
     * would hold the budget the next partitions wait for). Throws when one cannot be retired: nothing starts on top
     * of it, and the message names it.
     */
    static void leftovers(Engine engine, String when) {
        String jobKey = engine.definition().jobKey();
        if (engine.sql().dryRun()) {
            return;
        }
        for (Map<String, Object> row : engine.state().all(jobKey)) {
            if (!PartitionState.SWAPPED.equals(row.get("state"))) {
                continue;
            }
            String partition = (String) row.get("partition_name");
            PartitionNames n;
            try {
                n = PartitionWork.load(engine.catalog(), engine.definition(), partition).names();
            } catch (PartitionWork.Gone e) { // dropped since its swap: what is left of it is ours
                n = PartitionNames.recorded(engine.sql().jdbc(), jobKey, partition, engine.definition().schema(), engine.definition().table());
            }
            // retire drops (or keeps) P__old by its name: only when that is the table the swap made P__old of. Since
            // the kill, someone may have renamed it (and given the name to another table) or dropped it.
            PartitionNames.SwappedOut mine = PartitionNames.swappedOut(engine.sql().jdbc(), jobKey, partition);
            if (mine == null || !n.qOld().equals(mine.qualified())) {
                retireWithoutItsOld(engine, n, mine == null ? null : mine.qualified(),
                        mine == null ? "gone since the swap" : "renamed to " + mine.qualified() + " since the swap");
                continue;
            }
            if (retireNow(engine, n)) {
                log.info("{}: retired {} (its retire after the swap had not committed)", partition, when);
            }
        }
    }

    /**
     * retire of a swapped partition whose P__old is not under its name (renamed since the swap, or dropped): nothing is
     * dropped or kept by that name, which may be another table's now; the capture trigger goes from wherever it is
     * (found by its function), with the log and the function, and the partition is recorded retired, its reservation
     * released, and its source_relid forgotten. A renamed P__old stays, under its new name, for its DBA.
     */
    private static void retireWithoutItsOld(Engine engine, PartitionNames n, String mine, String why) {
        String jobKey = engine.definition().jobKey();
        engine.capture().remove(n, mine != null ? mine : n.qPartition());
        engine.tx().executeWithoutResult(s -> {
            engine.diskBudget().release(jobKey, n.partition());
            // The job no longer answers for that table: its oid, which may be another table's one day, is forgotten.
            engine.sql().jdbc().update(PartitionState.RETIRED_AND_DROPPED, n.qPartition(), jobKey, n.partition());
        });
        log.warn("{}: retired without its old partition: {} is {}; left as it is, without the capture trigger",
                n.partition(), n.old(), why);
    }

    /**
     * The oid the swap recorded for P__old (partition_state.source_relid), read in the drop's transaction, while a table
     * of that name exists (none: retire without it). (job, partition, P__old)
     */
    static final String SWAPPED_OUT_OID = """
            SELECT source_relid::bigint FROM pgrewrite.partition_state
             WHERE job_key = ? AND partition_name = ? AND state = 'swapped' AND to_regclass(?) IS NOT NULL
            """;

    /**
     * retire of a swapped partition: with {@code retire: drop} one transaction drops P__old, its log and function
     * and records the partition retired with its size now and its disk reservation released (one commit where
     * there were three); with {@code retire: keep} the capture goes from P__old, and the reservation becomes the
     * kept P__old's. False when P__old by its name was no longer the table the swap made of it, under the drop's lock:
     * retired without it then, nothing dropped by that name.
     */
    static boolean retireNow(Engine engine, PartitionNames n) {
        String jobKey = engine.definition().jobKey();
        String partition = n.partition();
        if (engine.sql().dryRun()) {
            engine.retire().retire(n, engine.definition().retire() == Retire.KEEP, () -> { });
            return true;
        }
        if (engine.definition().retire() == Retire.KEEP) {
            engine.retire().retire(n, true, () -> { });
            FaultPoints.reach("retire:committed", partition); // capture gone from P__old, state not yet "retired"
            engine.tx().executeWithoutResult(s -> {
                engine.diskBudget().keep(jobKey, partition, n.qOld()); // P__old still takes its space
                engine.sql().jdbc().update(PartitionState.RETIRED_NOW, n.qPartition(), jobKey, partition);
            });
            return true;
        }
        // Under the drop's lock, before the DROP: is the name still the table the swap made P__old of (SwappedOutTable)?
        boolean dropped = engine.retire().retire(n, false, () -> {
            List<Long> oid = engine.sql().jdbc().queryForList(SWAPPED_OUT_OID, Long.class, jobKey, partition, n.qOld());
            return !oid.isEmpty() && oid.get(0) != null && SwappedOutTable.lockAndCheck(engine.sql(), n.qOld(), oid.get(0));
        }, () -> {
            RoundTrip r = new RoundTrip(engine.sql().jdbc());
            r.update(DiskBudget.RELEASE, jobKey, partition);
            r.update(PartitionState.RETIRED_AND_DROPPED, n.qPartition(), jobKey, partition);
            r.run();
        });
        if (!dropped) {
            retireWithoutItsOld(engine, n, null, "not the table the swap made " + n.old() + " of (checked under its lock:"
                    + " gone, attached as a partition again, or renamed and the name taken)");
            return false;
        }
        FaultPoints.reach("retire:committed", partition); // P__old and capture gone, recorded retired
        return true;
    }
}
