package io.pgrewrite.copy;

import java.util.ArrayList;
import java.util.List;

import io.pgrewrite.job.FaultPoints;
import io.pgrewrite.pg.FunctionBodies;
import io.pgrewrite.pg.Identifiers;
import io.pgrewrite.pg.LockRetry;
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
     * search_path = pg_catalog, pg_temp: the log's name is schema-qualified, the rest is OLD and NEW.
     */
    static final String FUNCTION_BODY = """
            BEGIN
              IF TG_OP <> 'INSERT' THEN INSERT INTO %1$s (%2$s) VALUES (%3$s); END IF;
              IF TG_OP <> 'DELETE' THEN INSERT INTO %1$s (%2$s) VALUES (%4$s); END IF;
              RETURN NULL;
            END
            """;

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

    /** Idempotent: creates what is missing. */
    public void install(PartitionNames n, Table table) {
        List<String> keyDefs = new ArrayList<>();
        List<String> oldKey = new ArrayList<>();
        List<String> newKey = new ArrayList<>();
        for (String k : table.keyColumns()) {
            keyDefs.add(Identifiers.quote(k) + " " + table.column(k).orElseThrow().type());
            oldKey.add("OLD." + Identifiers.quote(k));
            newKey.add("NEW." + Identifiers.quote(k));
        }
        String keyList = Identifiers.list(table.keyColumns());
        // One transaction: the trigger must never exist without its log and function.
        lockRetry.run("capture on " + n.partition(), List.of(n.qPartition()), t -> {
            sql.execute(String.format(CREATE_LOG, n.qLog(), String.join(", ", keyDefs)));
            sql.execute(FunctionBodies.triggerFunction(n.qCaptureFunction(), FunctionBodies.searchPath(),
                    String.format(FUNCTION_BODY, n.qLog(), keyList, String.join(", ", oldKey), String.join(", ", newKey))));
            FaultPoints.reach("capture:log-created", n.partition());
            if (sql.dryRun() || !installed(n)) {
                sql.execute(String.format(CREATE_TRIGGER, Identifiers.quote(PartitionNames.CAPTURE_TRIGGER),
                        n.qPartition(), n.qCaptureFunction()));
                sql.execute(String.format(ENABLE_ALWAYS, n.qPartition(), Identifiers.quote(PartitionNames.CAPTURE_TRIGGER)));
            }
            FaultPoints.reach("capture:before-commit", n.partition());
            return null;
        });
    }

    /** Removes the trigger (if P still carries it), the log and the function. */
    public void remove(PartitionNames n, String qualifiedTable) {
        lockRetry.run("remove capture from " + n.partition(), List.of(qualifiedTable), t -> {
            if (sql.dryRun() || Boolean.TRUE.equals(sql.queryOne("SELECT to_regclass(?) IS NOT NULL", Boolean.class, qualifiedTable))) {
                sql.execute(String.format(DROP_TRIGGER, Identifiers.quote(PartitionNames.CAPTURE_TRIGGER), qualifiedTable));
            }
            sql.execute(String.format(DROP_LOG, n.qLog()));
            sql.execute(String.format(DROP_FUNCTION, n.qCaptureFunction()));
            return null;
        });
    }
}
