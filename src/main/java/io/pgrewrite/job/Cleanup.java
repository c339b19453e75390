package io.pgrewrite.job;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import io.pgrewrite.definition.JobDefinition;
import io.pgrewrite.definition.Operation;
import io.pgrewrite.pg.Identifiers;
import io.pgrewrite.plan.Partition;
import io.pgrewrite.plan.PartitionNames;
import io.pgrewrite.plan.Projection;
import io.pgrewrite.plan.Table;

/**
 * The way out of an execution given up ({@code pgrewrite abandon ID --cleanup}): removes everything
 * the job left on the table and in schema pgrewrite — each partition's working copy ({@code P__rw}),
 * capture trigger, change log and function, the sync trigger and function, the shadow column and the
 * not-null checks — and pgrewrite's own rows about the job (partition states, sync errors, disk
 * reservations), so that {@code run} of the same definition starts afresh. Partitions already swapped
 * stay swapped: their rows are P's rows, rewritten. Every DDL runs under lock_timeout with retries.
 * Only for an execution that no process runs (the caller checks).
 */
public final class Cleanup {

    /** ACCESS EXCLUSIVE on P__old, detached: nobody reaches it through the parent. */
    static final String DROP_OLD = io.pgrewrite.swap.Retire.DROP_OLD;
    /**
     * Whether a detached P__old still has the column the job added to the table (expand's shadow column, or the column
     * of an add-column) and the parent does not (retract dropped it, or contract renamed the shadow): only that column
     * goes, never one the DBA added to the table since, nor one dropped from the parent since the swap (its data is the
     * DBA's). (P__old's oid, the column, the parent, the column)
     */
    static final String JOB_COLUMN_LEFT = """
            SELECT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = ?::oid AND a.attname = ? AND a.attnum > 0 AND NOT a.attisdropped)
               AND NOT EXISTS (SELECT 1 FROM pg_attribute p WHERE p.attrelid = ?::regclass AND p.attname = ? AND p.attnum > 0
                               AND NOT p.attisdropped)
            """;
    /** ACCESS EXCLUSIVE on P__old, detached: nobody reaches it through the parent; catalog only. */
    static final String DROP_COLUMN = "ALTER TABLE %s DROP COLUMN IF EXISTS %s";
    static final String EXISTS = "SELECT to_regclass(?) IS NOT NULL";
    /** States of a partition whose copy, capture and log may exist (a kill or a failure before its swap). */
    static final java.util.Set<String> IN_FLIGHT = java.util.Set.of(PartitionState.CAPTURING, PartitionState.COPYING,
            PartitionState.INDEXED, PartitionState.VERIFIED, PartitionState.FAILED);
    static final String FORGET_STATES = "DELETE FROM pgrewrite.partition_state WHERE job_key = ?";
    static final String FORGET_SYNC_ERRORS = "DELETE FROM pgrewrite.sync_error WHERE job_key = ?";
    static final String FORGET_SYNC_FAILED = "DELETE FROM pgrewrite.sync_failed WHERE job_key = ?";

    /**
     * What was done, for the operator: swapped partitions, P__old tables kept or dropped, steps taken;
     * {@code keptTables} are the kept ones, for a later {@link #dropKept}.
     */
    public record Result(List<String> swapped, List<String> keptOld, List<String> droppedOld, List<String> done,
            List<Kept> keptTables) {
    }

    /**
     * A P__old the cleanup kept: schema-qualified and quoted, and its oid, so that a later {@code --drop-old} drops that
     * table and not whatever bears the name then; {@code oid} null when recorded by an earlier version, by name only.
     */
    public record Kept(String qualified, Long oid) {
    }

    /** What a later {@code --drop-old} dropped ({@code dropped}, schema-qualified) and what it left, and why ({@code notes}). */
    public record DroppedKept(List<String> dropped, List<String> notes) {
    }

    private final Engine engine;

    public Cleanup(Engine engine) {
        this.engine = engine;
    }

    /** @param dropOld also drop the P__old tables {@code retire: keep} kept (they hold the swapped partitions' old rows) */
    public Result run(boolean dropOld) {
        JobDefinition def = engine.definition();
        String jobKey = def.jobKey();
        List<String> swapped = new ArrayList<>(); // swapped or retired
        List<String> notRetired = new ArrayList<>(); // in flight or swapped: what the job made for them may be there
        for (Map<String, Object> row : engine.state().all(jobKey)) {
            String s = (String) row.get("state");
            if (PartitionState.SWAPPED.equals(s) || PartitionState.RETIRED.equals(s)) {
                swapped.add((String) row.get("partition_name"));
            }
            if (PartitionState.SWAPPED.equals(s) || IN_FLIGHT.contains(s)) {
                notRetired.add((String) row.get("partition_name"));
            }
        }
        List<String> keptOld = new ArrayList<>();
        List<String> droppedOld = new ArrayList<>();
        List<String> done = new ArrayList<>();
        List<Kept> keptQualified = new ArrayList<>();
        List<PartitionNames.SwappedOut> stripped = new ArrayList<>(); // P__old tables that stay: the job's column goes from them
        Table table = engine.catalog().find(def.schema(), def.table()).orElse(null);
        if (table == null) {
            done.add("table " + def.schema() + "." + def.table() + " not found: nothing on it to clean up");
        } else {
            int copies = 0;
            // The table's partitions, and those the job was rewriting or had swapped under a name no partition of the
            // table has now (renamed, detached or dropped after the kill): their copy, capture and log are named after
            // the name the job knew, and a renamed one (or a swapped one's P__old) still carries its capture trigger
            // (Capture.remove finds it by its function). Not gone or retired ones (cleaned up then; their names may be
            // another table's since).
            java.util.Map<String, PartitionNames> names = new java.util.LinkedHashMap<>();
            for (Partition p : table.partitions()) {
                names.put(p.name(), PartitionNames.of(table, p));
            }
            for (String r : notRetired) {
                if (!names.containsKey(r)) {
                    names.put(r, PartitionNames.recorded(engine.sql().jdbc(), jobKey, r, def.schema(), def.table()));
                }
            }
            // P__old first: killed between swap and retire, it still carries the capture trigger, which depends on the
            // function that remove() drops. Dropping P__old takes its trigger with it. Only the table this job swapped
            // out is its P__old (PartitionNames.swappedOut), whether P is still a partition or not: a table that merely
            // bears the name may be another job's, kept by its retire: keep, or anyone's.
            for (String partition : swapped) {
                PartitionNames.SwappedOut mine = PartitionNames.swappedOut(engine.sql().jdbc(), jobKey, partition);
                if (mine == null) {
                    continue; // retire dropped it, or someone did
                }
                PartitionNames n = names.containsKey(partition) ? names.get(partition)
                        : PartitionNames.recorded(engine.sql().jdbc(), jobKey, partition, def.schema(), def.table());
                if (!mine.qualified().equals(n.qOld())) {
                    // Renamed, or moved to another schema, since its swap: someone gave it a name of their own, so it
                    // stays, even with --drop-old.
                    engine.capture().remove(n, mine.qualified());
                    stripped.add(mine);
                    done.add("kept " + mine.qualified() + " (" + n.old() + ", renamed since its swap: the original rows of "
                            + partition + "), without the job's capture trigger; --drop-old does not drop it");
                } else if (dropOld) {
                    boolean dropped = engine.lockRetry().run("drop " + n.old(), List.of(n.qOld()), t -> {
                        if (!SwappedOutTable.lockIfStill(engine.sql(), n.qOld(), mine.oid())) {
                            return false;
                        }
                        engine.sql().execute(String.format(DROP_OLD, n.qOld()));
                        return true;
                    }).value();
                    if (dropped) {
                        engine.diskBudget().release(jobKey, "kept:" + n.qOld());
                        droppedOld.add(n.old());
                    } else {
                        done.add(notTheJobsAnyMore(n.qOld(), "dropped"));
                    }
                } else {
                    engine.capture().remove(n, n.qOld());
                    keptOld.add(n.old());
                    keptQualified.add(new Kept(n.qOld(), mine.oid()));
                    stripped.add(mine);
                }
            }
            for (PartitionNames n : names.values()) {
                if (exists(n.qRw())) {
                    engine.copyTarget().drop(n);
                    copies++;
                }
                engine.capture().remove(n, n.qPartition()); // trigger on P, log, function: each IF EXISTS
            }
            done.add("dropped " + copies + " working cop" + (copies == 1 ? "y" : "ies") + " (*__rw) and the capture"
                    + " triggers, change logs and functions of " + names.size() + " partitions");
            String shape = engine.shapeChange().retract(def, table);
            if (shape != null) {
                done.add(shape);
            }
            for (PartitionNames.SwappedOut old : stripped) {
                dropTheJobsColumn(def, table, old, done);
            }
        }
        // pgrewrite's rows about the job go last, once the catalog is clean: a cleanup cut short can run again.
        int released = DiskBudget.releaseAll(engine.dataSource(), jobKey);
        if (released > 0) {
            done.add("released " + released + " disk reservation(s)");
        }
        engine.sql().jdbc().update(FORGET_SYNC_ERRORS, jobKey);
        engine.sql().jdbc().update(FORGET_SYNC_FAILED, jobKey);
        engine.sql().jdbc().update(FORGET_STATES, jobKey);
        return new Result(swapped, keptOld, droppedOld, done, keptQualified);
    }

    /**
     * {@code abandon ID --cleanup --drop-old} after a cleanup that kept P__old tables: drops those it kept, nothing else. A
     * kept table is dropped only while its name is still that table (its oid) and no partition, checked under the drop's
     * lock: renamed since (its name perhaps another table's) or attached as a partition again, it stays. One recorded by
     * an earlier version by name only is dropped if it is a table of no parent, and said so.
     */
    public DroppedKept dropKept(List<Kept> keptTables) {
        List<String> dropped = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        for (Kept old : keptTables) {
            if (!exists(old.qualified())) {
                continue;
            }
            boolean done = engine.lockRetry().run("drop " + old.qualified(), List.of(old.qualified()), t -> {
                if (!SwappedOutTable.lockIfStill(engine.sql(), old.qualified(), old.oid())) {
                    return false;
                }
                engine.sql().execute(String.format(DROP_OLD, old.qualified()));
                return true;
            }).value();
            if (done) {
                dropped.add(old.qualified());
                if (old.oid() == null) {
                    notes.add("dropped " + old.qualified() + " identified by its name only (kept by a cleanup of an earlier"
                            + " version, which did not record its identity): a table of that name, of no parent");
                }
            } else {
                notes.add(old.oid() == null
                        ? "left " + old.qualified() + ": it is a partition now (kept by name only by an earlier version)"
                        : notTheJobsAnyMore(old.qualified(), "dropped"));
            }
        }
        return new DroppedKept(dropped, notes);
    }

    /** Said when a name checked under its lock is no longer the job's P__old. */
    private static String notTheJobsAnyMore(String qualified, String what) {
        return "left " + qualified + " as it is, nothing " + what + ": under its lock it was no longer the table the job"
                + " swapped out, detached (renamed since and the name taken by another table, or attached as a partition again)";
    }

    /**
     * A P__old kept from a partition swapped before its retire was detached with the column expand had added (the
     * shadow column, or the added column): once retract dropped it from the parent, it goes from P__old too, so it holds
     * the partition's original rows in the original columns. Only that column ({@link #JOB_COLUMN_LEFT}). Catalog only.
     */
    private void dropTheJobsColumn(JobDefinition def, Table table, PartitionNames.SwappedOut old, List<String> done) {
        String column = def.operation() == Operation.ALTER_COLUMN_TYPE ? Projection.shadowColumn(def.column())
                : def.operation() == Operation.ADD_COLUMN ? def.column() : null;
        if (column == null || !Boolean.TRUE.equals(engine.sql().queryOne(JOB_COLUMN_LEFT, Boolean.class, old.oid(), column,
                table.qualified(), column))) {
            return;
        }
        boolean dropped = engine.lockRetry().run("drop pgrewrite's column from " + old.qualified(), List.of(old.qualified()), t -> {
            if (!SwappedOutTable.lockIfStill(engine.sql(), old.qualified(), old.oid())) {
                return false;
            }
            engine.sql().execute(String.format(DROP_COLUMN, old.qualified(), Identifiers.quote(column)));
            return true;
        }).value();
        done.add(dropped ? "dropped column " + column + " of the job's from " + old.qualified()
                : notTheJobsAnyMore(old.qualified(), "altered"));
    }

    private boolean exists(String qualified) {
        return Boolean.TRUE.equals(engine.sql().queryOne(EXISTS, Boolean.class, qualified));
    }
}
