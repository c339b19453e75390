package io.pgrewrite.expand;

import java.util.ArrayList;
import java.util.List;

import io.pgrewrite.definition.JobDefinition;
import io.pgrewrite.definition.Operation;
import io.pgrewrite.job.FaultPoints;
import io.pgrewrite.pg.FunctionBodies;
import io.pgrewrite.pg.Identifiers;
import io.pgrewrite.pg.LockRetry;
import io.pgrewrite.pg.SqlRunner;
import io.pgrewrite.plan.Projection;
import io.pgrewrite.plan.Table;
import io.pgrewrite.plan.TriggerSafety;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * expand and contract, for the operations that change the table's shape. A partition must have
 * exactly its parent's columns, so a type change cannot be staged partition by partition on the
 * column itself: expand adds a shadow column (catalog only) and a sync trigger that keeps it equal to
 * the expression for every row written meanwhile; the rewrite fills it for the rows already there;
 * contract swaps the columns in one short transaction. drop-column drops the column at expand (catalog
 * only); the rewrite then reclaims the space.
 */
public final class ShapeChange {

    /** ACCESS EXCLUSIVE on the parent and every partition, catalog only (no default, no rewrite). */
    static final String ADD_COLUMN = "ALTER TABLE %s ADD COLUMN IF NOT EXISTS %s %s";
    static final String DROP_COLUMN = "ALTER TABLE %s DROP COLUMN IF EXISTS %s";

    /**
     * Never throws: an exception here would fail the application's INSERT or UPDATE. A value the expression
     * cannot convert leaves the shadow NULL ({@code %5$s}), or, once contract prepares SET NOT NULL of a NOT
     * NULL column (each partition then carries CHECK (shadow IS NOT NULL), which a NULL would violate), the
     * row's previous shadow on UPDATE or else the job's placeholder, a converted value taken from the table
     * ({@link FailedConversions}). Either way the row is recorded in sync_error (for the operator) and in
     * sync_failed (by key, for pgrewrite), and contract looks every recorded row up again and refuses while
     * one does not convert: neither the NULL nor the placeholder can become the column's data.
     * <p>
     * It runs as pgrewrite's role ({@link FunctionBodies#TRIGGER_FUNCTION}: the application has no
     * rights in schema pgrewrite, where sync_error is). That includes the expression from the job
     * definition: this does not widen what it can do. The definition is written by the table's owner
     * (or whoever runs pgrewrite as that owner), and the copy already evaluates the same expression as
     * pgrewrite's role over every existing row; the application supplies only the row's values, as
     * it did before. search_path is pinned to pg_catalog, then the schemas of pgrewrite's own
     * search_path at expand ({@link #SEARCH_PATH}), then pg_temp: names in the expression resolve
     * exactly as they did in the copy (and in the planner's check), never through the writing
     * session's search_path, which the application controls. A column named like one of PL/pgSQL's trigger
     * variables ({@code tg_op}, {@code new}, {@code found}) is the column in the expression ({@code #variable_conflict
     * use_column}): else every write failed the expression as ambiguous, and only logged it to sync_error.
     */
    static final String SYNC_BODY = """
            #variable_conflict use_column
            BEGIN
              BEGIN
                NEW.%1$s := (SELECT %2$s FROM (SELECT NEW.*) AS s);%7$s
              EXCEPTION WHEN others THEN
                NEW.%1$s := %5$s;
                INSERT INTO pgrewrite.sync_error (job_key, table_name, row_key, message)
                VALUES (%3$s, TG_TABLE_NAME, ROW(%4$s)::text, SQLERRM);
                INSERT INTO pgrewrite.sync_failed (job_key, row_key, key, table_name)
                VALUES (%3$s, ROW(%4$s)::text, jsonb_build_object(%6$s), TG_TABLE_NAME)
                ON CONFLICT (job_key, row_key) DO UPDATE SET at = clock_timestamp();
              END;
              RETURN NEW;
            END
            """;

    /** The schemas of this session's search_path that exist, in order, each quoted; no lock. */
    static final String SEARCH_PATH = """
            SELECT coalesce(string_agg(quote_ident(s), ', ' ORDER BY o), '')
            FROM unnest(current_schemas(false)) WITH ORDINALITY AS u(s, o)
            WHERE s NOT IN ('pg_catalog', 'pg_temp') AND s NOT LIKE 'pg\\_temp\\_%'
            """;

    /** Row triggers on a partitioned parent fire for every partition, including ones attached later. */
    static final String SYNC_TRIGGER = "CREATE OR REPLACE TRIGGER %s BEFORE INSERT OR UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION %s()";
    static final String DROP_TRIGGER = "DROP TRIGGER IF EXISTS %s ON %s";

    /**
     * ACCESS EXCLUSIVE on the parent only, as the first statement of contract (and of retract), before
     * DROP TRIGGER. DROP TRIGGER on a partitioned parent takes ACCESS SHARE on the parent, then ACCESS
     * EXCLUSIVE on each partition's clone of the trigger from the last partition to the first, and the
     * parent's ACCESS EXCLUSIVE last; the application locks the parent first and then the partitions from
     * the first. An application statement that started during that walk held the parent and queued behind
     * a partition we held, so our request for the parent closed a cycle that only our lock_timeout ended:
     * a busy application (a count over the whole table in a loop, a report keeping one day for 100 ms)
     * made every attempt time out. Parent first, no application statement holds a partition we wait for
     * (they all came through the parent and have ended) and new ones queue behind us on the parent, for at
     * most one lock_timeout. ONLY: the partitions come with DROP TRIGGER, after the parent.
     */
    static final String LOCK_PARENT = "LOCK TABLE ONLY %s IN ACCESS EXCLUSIVE MODE";
    static final String DROP_FUNCTION = "DROP FUNCTION IF EXISTS %s()";
    static final String RENAME_COLUMN = "ALTER TABLE %s RENAME COLUMN %s TO %s";
    static final String SET_NOT_NULL = "ALTER TABLE %s ALTER COLUMN %s SET NOT NULL";
    static final String SET_DEFAULT = "ALTER TABLE %s ALTER COLUMN %s SET DEFAULT %s";
    static final String QUOTE_LITERAL = "SELECT quote_literal(?)";
    /**
     * SET NOT NULL on the parent scans every partition under its lock, unless each partition has a
     * valid CHECK (col IS NOT NULL): added NOT VALID (a moment of ACCESS EXCLUSIVE on one partition),
     * validated with SHARE UPDATE EXCLUSIVE only (reads and writes go on), before the contract.
     */
    static final String ADD_NOT_NULL_CHECK = "ALTER TABLE %s ADD CONSTRAINT %s CHECK (%s IS NOT NULL) NOT VALID";
    static final String VALIDATE = "ALTER TABLE %s VALIDATE CONSTRAINT %s";
    static final String DROP_CONSTRAINT = "ALTER TABLE %s DROP CONSTRAINT IF EXISTS %s";
    /** null: no such check; false: added NOT VALID but never validated (a crash between the two). */
    static final String CHECK_VALIDATED = "SELECT (SELECT convalidated FROM pg_constraint WHERE conrelid = to_regclass(?) AND conname = ?)";
    static final String NOT_NULL_CHECK = "pgrewrite_not_null";

    /**
     * Written in expand's and contract's own transactions (no lock: a row of pgrewrite's own), so that
     * "contract committed" is known exactly: the catalog cannot tell a contracted table from one never
     * expanded, and running expand or contract again after a committed contract would add a new shadow
     * column, or drop the converted column and rename an empty shadow into its place.
     */
    static final String MARK_EXPANDED = """
            INSERT INTO pgrewrite.shape_change (job_key, expanded_at) VALUES (?, now())
            ON CONFLICT (job_key) DO UPDATE SET expanded_at = coalesce(shape_change.expanded_at, EXCLUDED.expanded_at)
            """;
    /** The partitions this job put in place itself: their shadow column was filled by the copy. */
    static final String REWRITTEN = """
            SELECT partition_name FROM pgrewrite.partition_state WHERE job_key = ? AND state IN ('swapped', 'retired')
            """;

    /**
     * Rows of a partition the job did not rewrite whose shadow is not what the expression gives: a table
     * ATTACHed during the job brought rows that never passed the sync trigger. A plain read
     * (AccessShareLock, no lock of ours held); only partitions created or attached after the job listed
     * them are read, and the daily partitions made ahead are empty.
     */
    static final String SHADOW_BEHIND = "SELECT count(*) FROM ONLY %s WHERE %s IS DISTINCT FROM (%s)";

    static final String MARK_CONTRACTED = """
            INSERT INTO pgrewrite.shape_change (job_key, contracted_at) VALUES (?, now())
            ON CONFLICT (job_key) DO UPDATE SET contracted_at = EXCLUDED.contracted_at
            """;
    static final String CONTRACTED = "SELECT count(*) > 0 FROM pgrewrite.shape_change WHERE job_key = ? AND contracted_at IS NOT NULL";
    static final String EXPANDED = "SELECT count(*) > 0 FROM pgrewrite.shape_change WHERE job_key = ? AND expanded_at IS NOT NULL";
    static final String FORGET = "DELETE FROM pgrewrite.shape_change WHERE job_key = ?";

    /**
     * PostgreSQL fires the BEFORE row triggers of one event in the byte order of their names (C collation,
     * whatever the database's): the sync trigger must come after the application's own, which may change
     * the column it converts. '~' (0x7E) sorts after every ASCII letter, digit and other punctuation, so
     * only a name that starts with '~' or a non-ASCII character (UTF-8 bytes are above 0x7F) could sort after it.
     */
    public static final String SYNC_TRIGGER_NAME = TriggerSafety.SYNC_TRIGGER_NAME;
    /** The name versions before it used (it sorted before an application trigger named e.g. "set_updated"). */
    public static final String OLD_SYNC_TRIGGER_NAME = "pgrewrite_sync";
    private static final Logger log = LoggerFactory.getLogger(ShapeChange.class);

    private final SqlRunner sql;
    private final LockRetry lockRetry;

    public ShapeChange(SqlRunner sql, LockRetry lockRetry) {
        this.sql = sql;
        this.lockRetry = lockRetry;
    }

    static String syncFunction(Table t) {
        return Identifiers.qualified("pgrewrite", "sync_" + t.oid());
    }

    /**
     * The CREATE OR REPLACE FUNCTION of the sync trigger; {@code placeholderLiteral}: null (a value that does
     * not convert leaves the shadow NULL) or the job's placeholder as an SQL literal (see {@link FailedConversions}).
     */
    private String syncFunctionDdl(JobDefinition def, Table table, String placeholderLiteral) {
        String target = def.operation() == Operation.ALTER_COLUMN_TYPE ? Projection.shadowColumn(def.column()) : def.column();
        String expr = Projection.computedColumns(def, table).get(target);
        String jobKey = sql.queryOne(QUOTE_LITERAL, String.class, def.jobKey());
        String schemas = sql.queryOne(SEARCH_PATH, String.class);
        String searchPath = schemas == null || schemas.isEmpty() ? FunctionBodies.searchPath() : FunctionBodies.searchPath(schemas);
        List<String> key = new ArrayList<>();
        List<String> keyObject = new ArrayList<>();
        for (String k : table.keyColumns()) {
            key.add("NEW." + Identifiers.quote(k));
            keyObject.add(sql.queryOne(QUOTE_LITERAL, String.class, k) + ", NEW." + Identifiers.quote(k));
        }
        String failure = def.operation() == Operation.ALTER_COLUMN_TYPE
                ? FailedConversions.failureValue(Identifiers.quote(target), placeholderLiteral, def.type()) : "NULL";
        // With the placeholder (a NOT NULL column, while contract prepares SET NOT NULL) an expression that gives NULL
        // fails like one that throws: a NULL shadow would fail the application's write on the NOT NULL check.
        String nullFails = def.operation() == Operation.ALTER_COLUMN_TYPE && placeholderLiteral != null
                ? "\n    IF NEW." + Identifiers.quote(target) + " IS NULL THEN RAISE EXCEPTION 'using: gives NULL for the NOT NULL column " 
                        + def.column().replace("'", "''").replace("%", "%%") + "'; END IF;" : "";
        return FunctionBodies.triggerFunction(syncFunction(table), searchPath, String.format(SYNC_BODY, Identifiers.quote(target),
                expr, jobKey, String.join(", ", key), failure, String.join(", ", keyObject), nullFails));
    }

    /** Whether this job's contract committed (then expand and contract have nothing left to do). */
    public boolean contracted(String jobKey) {
        return !sql.dryRun() && Boolean.TRUE.equals(sql.queryOne(CONTRACTED, Boolean.class, jobKey));
    }

    /**
     * expand: idempotent, and run again on every restart so that a corrected 'using:' reaches the
     * sync trigger too (the column is added only when missing; the function is replaced). After a
     * committed contract it does nothing.
     */
    public void expand(JobDefinition def, Table table) {
        Operation op = def.operation();
        if (op.changesShape() && contracted(def.jobKey())) {
            log.info("{}: contract already committed, nothing to expand", table.name());
            return;
        }
        if (op == Operation.DROP_COLUMN) {
            lockRetry.run("expand " + table.name(), List.of(table.qualified()), t ->
                    sql.execute(String.format(DROP_COLUMN, table.qualified(), Identifiers.quote(def.column()))));
            return;
        }
        if (!op.changesShape()) {
            return;
        }
        String target = op == Operation.ALTER_COLUMN_TYPE ? Projection.shadowColumn(def.column()) : def.column();
        String function = syncFunctionDdl(def, table, FailedConversions.storedLiteral(sql, def.jobKey()));
        lockRetry.run("expand " + table.name(), List.of(table.qualified()), t -> {
            if (sql.dryRun() || table.column(target).isEmpty()) {
                sql.execute(String.format(ADD_COLUMN, table.qualified(), Identifiers.quote(target), def.type()));
            }
            FaultPoints.reach("expand:column-added", table.name());
            refuseUnsafeTrigger(table); // plan checked; again under the lock, right before the function is created
            sql.execute(function);
            // A job expanded by an earlier version has its trigger under the old name: never both.
            sql.execute(String.format(DROP_TRIGGER, Identifiers.quote(OLD_SYNC_TRIGGER_NAME), table.qualified()));
            sql.execute(String.format(SYNC_TRIGGER, Identifiers.quote(SYNC_TRIGGER_NAME), table.qualified(), syncFunction(table)));
            // Fires under session_replication_role = replica too: rows applied by replication get the new column.
            sql.execute(String.format("ALTER TABLE %s ENABLE ALWAYS TRIGGER %s", table.qualified(), Identifiers.quote(SYNC_TRIGGER_NAME)));
            if (!sql.dryRun()) {
                sql.jdbc().update(MARK_EXPANDED, def.jobKey());
            }
            FaultPoints.reach("expand:before-commit", table.name());
            return null;
        });
        FaultPoints.reach("expand:committed", table.name());
    }

    /**
     * What plan refuses ({@link TriggerSafety}), checked again in expand's transaction under its lock on the table
     * (no trigger can be created on it meanwhile): a role was granted CREATE, or a trigger added or renamed, since
     * plan, or a restart runs expand again. Throws, so expand rolls back: nothing changes.
     */
    private void refuseUnsafeTrigger(Table table) {
        if (sql.dryRun()) {
            return;
        }
        String problem = TriggerSafety.searchPathProblem(sql.jdbc());
        if (problem == null) {
            problem = TriggerSafety.triggerOrderProblem(sql.jdbc(), table.qualified());
        }
        if (problem != null) {
            throw new IllegalStateException(table.name() + ": " + problem + ", then `pgrewrite restart`. Nothing was expanded"
                    + " (checked by expand, under its lock on the table).");
        }
    }

    /**
     * contract: one short transaction, which also records that it committed; run again (a restart
     * after it committed, before Spring Batch recorded the step), it does nothing.
     */
    public void contract(JobDefinition def, Table table) {
        Operation op = def.operation();
        if (!op.changesShape()) {
            return;
        }
        if (contracted(def.jobKey())) {
            log.info("{}: contract already committed, nothing to do", table.name());
            return;
        }
        FailedConversions.refuseUnresolved(sql, def, table);
        String shadow = Projection.shadowColumn(def.column());
        if (op == Operation.ALTER_COLUMN_TYPE && !sql.dryRun() && table.column(shadow).isPresent()) {
            refuseUnfilledPartitions(def, table, shadow);
        }
        Table.Column old = table.column(def.column()).orElse(null);
        boolean notNull = op == Operation.ALTER_COLUMN_TYPE && old != null && old.notNull()
                && (sql.dryRun() || table.column(shadow).isPresent());
        if (notNull) {
            // Before the first NOT NULL check: from then on a failed conversion must not leave the shadow NULL.
            if (FailedConversions.choosePlaceholder(sql, def, table, shadow)) {
                refuseUnsafeTrigger(table); // the function is created again: the same checks as at expand
                sql.execute(syncFunctionDdl(def, table, FailedConversions.storedLiteral(sql, def.jobKey())));
            }
            prepareNotNull(table, shadow);
        }
        boolean retype = op == Operation.ALTER_COLUMN_TYPE && (sql.dryRun() || table.column(shadow).isPresent());
        ColumnObjects objects = retype ? ColumnObjects.of(sql, def, table) : null;
        if (objects != null) {
            objects.prepare(table, lockRetry);
        }
        var childNames = objects == null ? java.util.Map.<String, String>of() : objects.childNames(table);
        ForeignKeys.Prepared foreignKeys = ForeignKeys.prepare(sql, lockRetry, def, table); // keys on the new column, valid on every partition
        var outcome = lockRetry.run("contract " + table.name(), List.of(table.qualified()), t -> {
            sql.executeAll(List.of(String.format(LOCK_PARENT, table.qualified()), String.format(DROP_TRIGGER, Identifiers.quote(SYNC_TRIGGER_NAME), table.qualified()),
                    String.format(DROP_TRIGGER, Identifiers.quote(OLD_SYNC_TRIGGER_NAME), table.qualified())));
            t.locked();
            FailedConversions.refuseRecordedSince(sql, def, table);
            refusePendingDetach(def, table, "contracted", "`pgrewrite restart`"); // again: one may have begun since
            FaultPoints.reach("contract:locked", table.name());
            // Read what to carry under the lock, then every catalog statement in one round trip: each round trip
            // under this lock is time the application waits (35 partitions: ~50 round trips became one).
            List<String> ddl = new java.util.ArrayList<>();
            long[] position = null;
            if (retype) {
                List<String> kept = ColumnFacts.carry(sql.jdbc(), table, def.column(), def.column()); // comment, grants, statistics target, options
                ColumnFacts.Rebuild statistics = ColumnFacts.extendedStatistics(sql.jdbc(), table, def.column());
                position = objects.beforeDrop(table);
                ddl.addAll(statistics.drops());
                ddl.add(String.format(DROP_COLUMN, table.qualified(), Identifiers.quote(def.column())));
                ddl.add(String.format(RENAME_COLUMN, table.qualified(), Identifiers.quote(shadow), Identifiers.quote(def.column())));
                ddl.addAll(kept);
                ddl.addAll(statistics.creates()); // extended statistics on the column, rebuilt on the new one
                ddl.addAll(foreignKeys.rebuild()); // the parent's keys again, attaching the partitions' valid ones: no scan
                if (notNull) {
                    ddl.add(String.format(SET_NOT_NULL, table.qualified(), Identifiers.quote(def.column())));
                    for (var p : table.partitions()) {
                        ddl.add(String.format(DROP_CONSTRAINT, p.qualified(), Identifiers.quote(NOT_NULL_CHECK)));
                    }
                }
                if (old != null && old.defaultExpr() != null) {
                    ddl.add(String.format(SET_DEFAULT, table.qualified(), Identifiers.quote(def.column()), old.defaultExpr()));
                }
                ddl.addAll(objects.afterRename(table, childNames));
            }
            ddl.add(String.format(DROP_FUNCTION, syncFunction(table)));
            sql.executeAll(ddl);
            if (retype) {
                objects.restoreSequence(position);
            }
            if (!sql.dryRun()) {
                sql.jdbc().update(MARK_CONTRACTED, def.jobKey());
            }
            FaultPoints.reach("contract:before-commit", table.name());
            return null;
        });
        log.info("{}: contract held the table's lock {} ms ({} attempt(s))", table.name(),
                String.format(java.util.Locale.ROOT, "%.1f", outcome.lockHoldMs()), outcome.attempts());
        FaultPoints.reach("contract:committed", table.name());
    }

    /**
     * A partition pending detach (a {@code DETACH PARTITION … CONCURRENTLY} in progress or interrupted) is leaving the
     * table but still in its catalog: PostgreSQL's ALTER TABLE of the parent passes it by, so dropping or renaming the
     * table's columns now would leave it with columns neither the table's nor its own (an inherited column without a
     * parent), and it refuses every ALTER TABLE of its own. Refused, naming what finishes the detach; checked before
     * the work and again under the table's lock.
     *
     * @param nothing what did not happen ("contracted"), @param next what to run after the detach
     */
    private void refusePendingDetach(JobDefinition def, Table table, String nothing, String next) {
        if (sql.dryRun()) {
            return;
        }
        List<String> pending = new io.pgrewrite.plan.Catalog(sql.jdbc()).pendingDetach(table.oid());
        if (!pending.isEmpty()) {
            String added = def.operation() == Operation.ALTER_COLUMN_TYPE ? Projection.shadowColumn(def.column()) : def.column();
            throw new IllegalStateException("partition " + String.join(", ", pending) + " of " + table.qualified() + " is pending"
                    + " detach (a DETACH PARTITION … CONCURRENTLY in progress, or interrupted). Nothing was " + nothing + ". Let the"
                    + " detach finish, or finish it with ALTER TABLE " + table.qualified() + " DETACH PARTITION " + pending.get(0)
                    + " FINALIZE (the detached table keeps "
                    + Identifiers.quote(added) + ", which you may drop), then " + next + ".");
        }
    }

    /**
     * Contract drops the old column: every row must carry its new value by then. Partitions the job
     * rewrote do (copy, then the sync trigger); one created or attached after the job listed its
     * partitions has only what the sync trigger wrote, and a table attached with rows in it has NULL
     * shadows that would become the column's values. Refuse, before any lock, and say how to go on (a
     * restart does not list the partitions again once the rewrite step completed).
     */
    private void refuseUnfilledPartitions(JobDefinition def, Table table, String shadow) {
        refusePendingDetach(def, table, "contracted", "`pgrewrite restart`");
        java.util.Set<String> rewritten = new java.util.HashSet<>(sql.jdbc().queryForList(REWRITTEN, String.class, def.jobKey()));
        String expr = Projection.computedColumns(def, table).get(shadow);
        for (var p : table.partitions()) {
            if (rewritten.contains(p.name())) {
                continue;
            }
            long behind = sql.queryOne(String.format(SHADOW_BEHIND, p.qualified(), Identifiers.quote(shadow), expr), Long.class);
            if (behind > 0) {
                throw new IllegalStateException(p.name() + ": " + behind + " row(s) of this partition, which joined " + table.name()
                        + " after the job listed its partitions, do not have their new " + def.column() + " yet (a table attached"
                        + " with rows in it never passed the sync trigger). Nothing was contracted. Fill them with `UPDATE " + p.qualified()
                        + " SET " + Identifiers.quote(def.column()) + " = " + Identifiers.quote(def.column()) + "` (the sync trigger computes"
                        + " the new value; row locks only, in batches if the table is large), then `pgrewrite restart`.");
            }
        }
    }

    /**
     * Undoes expand for a job given up ({@code abandon --cleanup}): the sync trigger and function, the
     * not-null checks and the column expand added (the shadow, or add-column's new column, which plan
     * proved did not exist before). One transaction; ACCESS EXCLUSIVE on the parent and every partition
     * for catalog work only, as expand took. After a committed contract the change is done and stays:
     * nothing is undone. Returns what it did, for the operator.
     */
    public String retract(JobDefinition def, Table table) {
        Operation op = def.operation();
        if (!op.changesShape()) {
            return op == Operation.DROP_COLUMN ? "column " + def.column() + " was dropped at expand and stays dropped" : null;
        }
        if (contracted(def.jobKey())) {
            sql.jdbc().update(FORGET, def.jobKey());
            return "contract had committed: " + def.column() + " is " + def.type() + " and stays so";
        }
        String added = op == Operation.ALTER_COLUMN_TYPE ? Projection.shadowColumn(def.column()) : def.column();
        boolean dropColumn = table.column(added).isPresent() && (op == Operation.ALTER_COLUMN_TYPE
                || Boolean.TRUE.equals(sql.queryOne(EXPANDED, Boolean.class, def.jobKey())));
        if (dropColumn) { // the column's drop would pass the pending partition by; the triggers' do not
            refusePendingDetach(def, table, "retracted", "`pgrewrite abandon --cleanup` again");
        }
        lockRetry.run("retract expand of " + table.name(), List.of(table.qualified()), t -> {
            sql.execute(String.format(LOCK_PARENT, table.qualified()));
            if (dropColumn) {
                refusePendingDetach(def, table, "retracted", "`pgrewrite abandon --cleanup` again"); // again, under the lock
            }
            sql.execute(String.format(DROP_TRIGGER, Identifiers.quote(SYNC_TRIGGER_NAME), table.qualified()));
            sql.execute(String.format(DROP_TRIGGER, Identifiers.quote(OLD_SYNC_TRIGGER_NAME), table.qualified()));
            sql.execute(String.format(DROP_FUNCTION, syncFunction(table)));
            for (var p : table.partitions()) {
                sql.execute(String.format(DROP_CONSTRAINT, p.qualified(), Identifiers.quote(NOT_NULL_CHECK)));
            }
            if (dropColumn) {
                sql.execute(String.format(DROP_COLUMN, table.qualified(), Identifiers.quote(added)));
            }
            sql.jdbc().update(FORGET, def.jobKey());
            return null;
        });
        return dropColumn ? "dropped column " + added + ", the sync trigger and its function"
                : "dropped the sync trigger and its function";
    }

    /**
     * A valid CHECK (shadow IS NOT NULL) on every partition, so that contract's SET NOT NULL does not
     * scan under the lock. A check found NOT VALID (the process died between adding and validating
     * it) is validated now: skipping it would make SET NOT NULL scan that partition while contract
     * holds ACCESS EXCLUSIVE on the whole table.
     */
    private void prepareNotNull(Table table, String shadow) {
        for (var p : table.partitions()) {
            Boolean validated = sql.dryRun() ? null : sql.queryOne(CHECK_VALIDATED, Boolean.class, p.qualified(), NOT_NULL_CHECK);
            if (Boolean.TRUE.equals(validated)) {
                continue;
            }
            if (validated == null) {
                lockRetry.run("not-null check on " + p.name(), List.of(p.qualified()), t -> sql.execute(String.format(
                        ADD_NOT_NULL_CHECK, p.qualified(), Identifiers.quote(NOT_NULL_CHECK), Identifiers.quote(shadow))));
                FaultPoints.reach("contract:not-null-added", p.name());
            } else {
                log.info("{}: not-null check {} found NOT VALID, validating it before contract", p.name(), NOT_NULL_CHECK);
            }
            lockRetry.run("validate not-null check on " + p.name(), List.of(p.qualified()), t -> sql.execute(String.format(
                    VALIDATE, p.qualified(), Identifiers.quote(NOT_NULL_CHECK))));
        }
    }
}
