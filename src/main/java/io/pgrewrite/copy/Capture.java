package io.pgrewrite.copy;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

import io.pgrewrite.job.FaultPoints;
import io.pgrewrite.pg.FunctionBodies;
import io.pgrewrite.pg.Identifiers;
import io.pgrewrite.pg.LockRetry;
import io.pgrewrite.pg.RoundTrip;
import io.pgrewrite.pg.SqlRunner;
import io.pgrewrite.plan.PartitionNames;
import io.pgrewrite.plan.Table;

/**
 * capture: an AFTER row trigger on P records the key of every row inserted, updated or deleted into
 * P's change log (pg_repack's idea), so that catch up and swap can replay what changed while P was
 * copied. Idle partitions get it too: it costs nothing when nobody writes, and it is the only proof.
 */
public final class Capture {

    /** Keys only, typed like the table's key; seq orders nothing, it only identifies a log row. */
    static final String CREATE_LOG = "CREATE TABLE IF NOT EXISTS %s (seq bigserial PRIMARY KEY, %s)";

    /**
     * The trigger function writes OLD's key for UPDATE/DELETE and NEW's for INSERT/UPDATE (an UPDATE
     * may change the key). It runs inside the application's transaction, so a log row commits or
     * rolls back with the change it records. It runs as pgrewrite's role, not the application's
     * ({@link FunctionBodies#TRIGGER_FUNCTION}: the application has no rights in schema pgrewrite), with
     * search_path = pg_catalog, pg_temp: the log's name is schema-qualified, the rest is OLD and NEW. A key column
     * named like a PL/pgSQL trigger variable ({@code tg_op}, {@code found}) is the column in the delete from the copy
     * ({@code #variable_conflict use_column}), not an ambiguity that fails it.
     */
    static final String FUNCTION_BODY = """
            #variable_conflict use_column
            BEGIN
              IF TG_OP <> 'INSERT' THEN INSERT INTO %1$s (%2$s) VALUES (%3$s); END IF;
              IF TG_OP <> 'DELETE' THEN INSERT INTO %1$s (%2$s) VALUES (%4$s); END IF;
            %5$s  RETURN NULL;
            END
            """;

    /**
     * Once {@code P__rw} carries foreign keys (swap.ForeignKeyCopy, right before the swap) it lags P by the log,
     * and the keys' NO ACTION / RESTRICT checks on the referenced table see its rows: an application that deletes
     * (or re-points) the rows of camera X in P and then deletes camera X would fail on P__rw's stale copy. So the
     * function also deletes OLD's row from P__rw, in the application's transaction, on DELETE and on every
     * UPDATE; its key is logged above, so catch up and the swap's replay write it again from P, and verify
     * leaves it out. ROW EXCLUSIVE on P__rw, taken after the application's locks on the parent and P (the
     * swap's order: parent, P, P__rw). It never throws into the application: after the swap P__rw is gone
     * (this trigger stays on P__old, which nobody writes), and whatever else fails only leaves a row that
     * the logged key replaces anyway: the log row is written above, outside the block, so it commits with the
     * application's change whatever happens here, and catch up and the swap (which replays every logged key
     * under its lock) write the copy's row again from P. What can fail: the application's own lock_timeout
     * while pgrewrite holds a lock on P__rw, a deadlock, a serialization failure in REPEATABLE READ or
     * SERIALIZABLE when a replay rewrote the row after the transaction's snapshot, and "relation does not exist"
     * after the swap; each goes to the server log (LOG: not sent to the client by default), never to the
     * application. (A cancel or statement_timeout is not caught: the application asked for it.)
     * <p>
     * A replay that rewrote the row (deleted it and inserted it again from P) while this DELETE waited for its row
     * lock leaves the DELETE with nothing to delete: the version it waited for is gone and the new one is not in
     * its snapshot. In READ COMMITTED a second DELETE takes a new snapshot and finds the new version; without it
     * the stale row would stay until the next catch up, and the application's delete of the row it referenced
     * would fail on the copy's key. (A replay whose snapshot predates the application's commit does not write the
     * row back after it: while the copy carries keys it reads P FOR SHARE SKIP LOCKED, CatchUp.REPLAY_AROUND_HELD_ROWS.)
     */
    static final String DELETE_FROM_COPY = """
              IF TG_OP <> 'INSERT' THEN -- pgrewrite: deletes from the copy
                BEGIN
                  DELETE FROM %1$s WHERE (%2$s) = (%3$s);
                  IF NOT FOUND THEN
                    DELETE FROM %1$s WHERE (%2$s) = (%3$s);
                  END IF;
                EXCEPTION WHEN OTHERS THEN
                  RAISE LOG 'pgrewrite: the capture trigger on %% could not delete a row from its copy (%%, SQLSTATE %%); its key is logged, catch up writes it again', TG_TABLE_NAME, SQLERRM, SQLSTATE;
                END;
              END IF;
            """;

    static final String DELETES_FROM_COPY = "-- pgrewrite: deletes from the copy";

    /** Whether the function already deletes from the copy. Catalog only. */
    static final String FUNCTION_DELETES = "SELECT coalesce((SELECT position(? in prosrc) > 0 FROM pg_proc WHERE oid = to_regproc(?)), false)";

    /** Whether {@code P__rw} carries foreign keys (then the function must delete from it). Catalog only. */
    static final String COPY_HAS_KEYS = "SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = to_regclass(?) AND contype = 'f')";

    /**
     * SHARE on P, held until the new function commits: waits for every transaction that wrote P (and so may
     * have fired the function without the delete) to end, so none of them is still running when the copy gets
     * its keys. It holds nothing else: no lock on the referenced tables, so it cannot close a cycle with an
     * application that writes P and a referenced table. lock_timeout bounds the wait; on timeout we retry.
     */
    static final String WAIT_FOR_WRITERS = "LOCK TABLE ONLY %s IN SHARE MODE";

    /**
     * SHARE ROW EXCLUSIVE on P: waits for in-flight writes to P to finish, so no change can slip
     * between "not captured" and "copied". lock_timeout bounds the wait; on timeout we retry.
     */
    static final String CREATE_TRIGGER = "CREATE TRIGGER %s AFTER INSERT OR UPDATE OR DELETE ON %s"
            + " FOR EACH ROW EXECUTE FUNCTION %s()";

    static final String TRIGGER_EXISTS = """
            SELECT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = to_regclass(?) AND t.tgname = ?)
            """;

    /**
     * ALWAYS: the trigger fires under session_replication_role = replica too (logical replication apply,
     * restores with triggers disabled), which would otherwise write past the change log.
     */
    static final String ENABLE_ALWAYS = "ALTER TABLE %s ENABLE ALWAYS TRIGGER %s";

    /** ACCESS EXCLUSIVE on P for a moment: lock_timeout and retries as for every DDL. */
    static final String DROP_TRIGGER = "DROP TRIGGER IF EXISTS %s ON %s";

    static final String DROP_LOG = "DROP TABLE IF EXISTS %s";
    static final String DROP_FUNCTION = "DROP FUNCTION IF EXISTS %s()";

    private final SqlRunner sql;
    private final LockRetry lockRetry;

    public Capture(SqlRunner sql, LockRetry lockRetry) {
        this.sql = sql;
        this.lockRetry = lockRetry;
    }

    public boolean installed(PartitionNames n) {
        return Boolean.TRUE.equals(sql.queryOne(TRIGGER_EXISTS, Boolean.class, n.qPartition(), PartitionNames.CAPTURE_TRIGGER));
    }

    /** {@link #installed(PartitionNames)}, read with the other statements of {@code reads}. */
    public Supplier<Boolean> installed(RoundTrip reads, PartitionNames n) {
        return reads.one(TRIGGER_EXISTS, Boolean.class, n.qPartition(), PartitionNames.CAPTURE_TRIGGER);
    }

    /** Idempotent: creates what is missing. */
    public void install(PartitionNames n, Table table) {
        List<String> keyDefs = new ArrayList<>();
        for (String k : table.keyColumns()) {
            keyDefs.add(Identifiers.quote(k) + " " + table.column(k).orElseThrow().type());
        }
        // Both in one round trip: a restart with keys already on the copy keeps the deleting function; a restart
        // after capture committed finds the trigger (only this job's process touches it: the job's lock).
        RoundTrip reads = new RoundTrip(sql.jdbc());
        Supplier<Boolean> copyHasKeys = reads.one(COPY_HAS_KEYS, Boolean.class, n.qRw());
        Supplier<Boolean> triggerExists = reads.one(TRIGGER_EXISTS, Boolean.class, n.qPartition(), PartitionNames.CAPTURE_TRIGGER);
        reads.run();
        boolean deleting = !sql.dryRun() && Boolean.TRUE.equals(copyHasKeys.get());
        boolean create = sql.dryRun() || !Boolean.TRUE.equals(triggerExists.get());
        // One transaction: the trigger must never exist without its log and function. Two round trips in it.
        lockRetry.run("capture on " + n.partition(), List.of(n.qPartition()), t -> {
            sql.executeAll(List.of(String.format(CREATE_LOG, n.qLog(), String.join(", ", keyDefs)), function(n, table, deleting)));
            FaultPoints.reach("capture:log-created", n.partition());
            if (create) {
                sql.executeAll(List.of(String.format(CREATE_TRIGGER, Identifiers.quote(PartitionNames.CAPTURE_TRIGGER),
                        n.qPartition(), n.qCaptureFunction()),
                        String.format(ENABLE_ALWAYS, n.qPartition(), Identifiers.quote(PartitionNames.CAPTURE_TRIGGER))));
            }
            FaultPoints.reach("capture:before-commit", n.partition());
            return null;
        });
    }

    /**
     * Idempotent: before {@code P__rw} gets foreign keys, the function also deletes from it
     * ({@link #DELETE_FROM_COPY}), and no transaction that fired the old one is still running.
     */
    public void deleteFromCopy(PartitionNames n, Table table) {
        if (!sql.dryRun() && Boolean.TRUE.equals(sql.queryOne(FUNCTION_DELETES, Boolean.class, DELETES_FROM_COPY, n.qCaptureFunction()))) {
            return;
        }
        lockRetry.run("capture on " + n.partition() + " deletes from " + n.rw(), List.of(n.qPartition()), t -> {
            sql.execute(function(n, table, true));
            sql.execute(String.format(WAIT_FOR_WRITERS, n.qPartition()));
            return null;
        });
    }

    private static String function(PartitionNames n, Table table, boolean deleting) {
        List<String> oldKey = new ArrayList<>();
        List<String> newKey = new ArrayList<>();
        for (String k : table.keyColumns()) {
            oldKey.add("OLD." + Identifiers.quote(k));
            newKey.add("NEW." + Identifiers.quote(k));
        }
        String keyList = Identifiers.list(table.keyColumns());
        String delete = deleting ? String.format(DELETE_FROM_COPY, n.qRw(), keyList, String.join(", ", oldKey)) : "";
        return FunctionBodies.triggerFunction(n.qCaptureFunction(), FunctionBodies.searchPath(),
                String.format(FUNCTION_BODY, n.qLog(), keyList, String.join(", ", oldKey), String.join(", ", newKey), delete));
    }

    /**
     * The tables that carry the partition's capture trigger, found by its function: P, {@code P__old} after a swap, or P
     * under another name (a DBA renamed it while the job ran). Catalog only. (the function, the trigger's name)
     */
    static final String CARRIERS = "SELECT n.nspname, c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
            + " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE t.tgfoid = to_regproc(?) AND t.tgname = ? ORDER BY 1, 2";

    /**
     * Removes the trigger (from {@code qualifiedTable}, and from any table that carries it under another name: the
     * function could not be dropped while one does), the log and the function.
     */
    public void remove(PartitionNames n, String qualifiedTable) {
        List<String> relations = new ArrayList<>(List.of(qualifiedTable));
        if (!sql.dryRun()) {
            carriers(n).stream().filter(r -> !relations.contains(r)).forEach(relations::add);
        }
        lockRetry.run("remove capture from " + n.partition(), relations, t -> {
            List<String> drops = new ArrayList<>();
            // Read again in the transaction: the tables as they are named now.
            for (String r : sql.dryRun() ? List.of(qualifiedTable) : carriers(n)) {
                drops.add(String.format(DROP_TRIGGER, Identifiers.quote(PartitionNames.CAPTURE_TRIGGER), r));
            }
            drops.add(String.format(DROP_LOG, n.qLog()));
            drops.add(String.format(DROP_FUNCTION, n.qCaptureFunction()));
            sql.executeAll(drops); // one round trip
            return null;
        });
    }

    private List<String> carriers(PartitionNames n) {
        return sql.query(CARRIERS, (rs, i) -> Identifiers.qualified(rs.getString(1), rs.getString(2)), n.qCaptureFunction(),
                PartitionNames.CAPTURE_TRIGGER);
    }

    /**
     * The statements that drop the log and the function, for a transaction that drops the table carrying the
     * trigger first (retire drops {@code P__old} with them): ACCESS EXCLUSIVE on the log, which nobody uses once
     * that trigger is gone.
     */
    public List<String> logAndFunctionDrops(PartitionNames n) {
        return List.of(String.format(DROP_LOG, n.qLog()), String.format(DROP_FUNCTION, n.qCaptureFunction()));
    }
}
