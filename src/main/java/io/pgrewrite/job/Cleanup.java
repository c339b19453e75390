package io.pgrewrite.job;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import io.pgrewrite.definition.JobDefinition;
import io.pgrewrite.pg.Identifiers;
import io.pgrewrite.plan.Partition;
import io.pgrewrite.plan.PartitionNames;
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
    static final String DROP_OLD = "DROP TABLE IF EXISTS %s";
    /** Columns of a detached P__old that the parent no longer has: what expand added, retracted since. */
    static final String COLUMNS_NOT_IN_PARENT = """
            SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = ?::regclass AND a.attnum > 0 AND NOT a.attisdropped
              AND NOT EXISTS (SELECT 1 FROM pg_attribute p WHERE p.attrelid = ?::regclass AND p.attname = a.attname
                              AND p.attnum > 0 AND NOT p.attisdropped)
            ORDER BY a.attnum
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
     * {@code keptTables} are the kept ones schema-qualified, for a later {@link #dropKept}.
     */
    public record Result(List<String> swapped, List<String> keptOld, List<String> droppedOld, List<String> done,
            List<String> keptTables) {
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
        List<String> keptQualified = new ArrayList<>();
        List<String> stripped = new ArrayList<>(); // P__old tables that stay: the job's columns go from them
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
                String mine = PartitionNames.swappedOut(engine.sql().jdbc(), jobKey, partition);
                if (mine == null) {
                    continue; // retire dropped it, or someone did
                }
                PartitionNames n = names.containsKey(partition) ? names.get(partition)
                        : PartitionNames.recorded(engine.sql().jdbc(), jobKey, partition, def.schema(), def.table());
                if (!mine.equals(n.qOld())) {
                    // Renamed since its swap: someone gave it a name of their own, so it stays, even with --drop-old.
                    engine.capture().remove(n, mine);
                    stripped.add(mine);
                    done.add("kept " + mine + " (" + n.old() + ", renamed since its swap: the original rows of " + partition
                            + "), without the job's capture trigger; --drop-old does not drop it");
                } else if (dropOld) {
                    engine.lockRetry().run("drop " + n.old(), List.of(n.qOld()),
                            t -> engine.sql().execute(String.format(DROP_OLD, n.qOld())));
                    engine.diskBudget().release(jobKey, "kept:" + n.qOld());
                    droppedOld.add(n.old());
                } else {
                    engine.capture().remove(n, n.qOld());
                    keptOld.add(n.old());
                    keptQualified.add(n.qOld());
                    stripped.add(n.qOld());
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
            for (String old : stripped) {
                dropColumnsTheParentLacks(table, old, done);
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
     * {@code abandon ID --cleanup --drop-old} after a cleanup that kept P__old tables: drops those it
     * kept (and still there), nothing else. Returns the ones dropped.
     */
    public List<String> dropKept(List<String> keptTables) {
        List<String> dropped = new ArrayList<>();
        for (String old : keptTables) {
            if (exists(old)) {
                engine.lockRetry().run("drop " + old, List.of(old), t -> engine.sql().execute(String.format(DROP_OLD, old)));
                dropped.add(old);
            }
        }
        return dropped;
    }

    /**
     * A P__old kept from a partition swapped before its retire was detached with the columns expand had
     * added (the shadow column): once retract dropped them from the parent, they go from P__old too, so it
     * holds the partition's original rows in the original columns. Catalog only.
     */
    private void dropColumnsTheParentLacks(Table table, String qualifiedOld, List<String> done) {
        List<String> extra = engine.sql().jdbc().queryForList(COLUMNS_NOT_IN_PARENT, String.class, qualifiedOld, table.qualified());
        if (extra.isEmpty()) {
            return;
        }
        engine.lockRetry().run("drop pgrewrite's columns from " + qualifiedOld, List.of(qualifiedOld), t -> {
            for (String column : extra) {
                engine.sql().execute(String.format(DROP_COLUMN, qualifiedOld, Identifiers.quote(column)));
            }
            return null;
        });
        done.add("dropped column(s) " + String.join(", ", extra) + " of the job's from " + qualifiedOld);
    }

    private boolean exists(String qualified) {
        return Boolean.TRUE.equals(engine.sql().queryOne(EXISTS, Boolean.class, qualified));
    }
}
