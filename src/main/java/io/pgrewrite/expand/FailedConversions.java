package io.pgrewrite.expand;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import io.pgrewrite.definition.JobDefinition;
import io.pgrewrite.definition.Operation;
import io.pgrewrite.pg.Identifiers;
import io.pgrewrite.pg.SqlRunner;
import io.pgrewrite.plan.Projection;
import io.pgrewrite.plan.Table;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.dao.DataAccessException;

/**
 * The rows whose new value the sync trigger could not compute (the {@code using:} expression threw for the
 * values the application wrote). The application's write always succeeds; the row is recorded twice, in
 * {@code pgrewrite.sync_error} (the operator's: the message, to read and clear) and in
 * {@code pgrewrite.sync_failed} (pgrewrite's own, by key). Contract looks each recorded row up again before
 * it drops the old column: a row fixed since (an UPDATE, which the trigger converted) or deleted is resolved
 * and both records go; one still failing stops contract, named. So a placeholder (below) or a NULL left by
 * a failed conversion never becomes the column's data, even when someone emptied sync_error.
 * <p>
 * The placeholder: from the moment contract prepares {@code SET NOT NULL} of a NOT NULL column, every
 * partition carries {@code CHECK (shadow IS NOT NULL)} (added NOT VALID, then validated), and a NULL shadow
 * would fail the application's INSERT or UPDATE with a check violation. Before the first check is added the
 * sync function is replaced by one whose failure branch gives the shadow the row's own previous shadow on
 * UPDATE, or else a converted value of the column taken from the table (the same value for every such row,
 * kept in {@code pgrewrite.shape_change.placeholder} so a restart's expand writes the same function).
 * Measured on PostgreSQL 15: a REPEATABLE READ transaction whose snapshot predates the replacement runs the
 * new body on its next write (plpgsql checks the function's catalog row on every call, outside the
 * snapshot), as it sees the new check.
 */
final class FailedConversions {

    /** A converted value of the column (plain read, stops at the first row; the partitions are rewritten by now). */
    static final String CONVERTED_VALUE = "SELECT %1$s::text FROM %2$s WHERE %1$s IS NOT NULL LIMIT 1";
    /** Whether a text is a value of the type: an empty table has no converted value to take. */
    static final String CAST_TEXT = "SELECT (?::text)::%s::text";
    /** Values most types accept, tried in order for a table without a converted row. */
    static final List<String> FALLBACKS = List.of("0", "", "f", "{}", "00000000-0000-0000-0000-000000000000",
            "1970-01-01 00:00:00", "00:00:00", "(0,0)");
    /** pgrewrite's own row (no lock on the table). */
    static final String STORED_PLACEHOLDER = "SELECT placeholder FROM pgrewrite.shape_change WHERE job_key = ?";
    static final String STORE_PLACEHOLDER = """
            INSERT INTO pgrewrite.shape_change (job_key, placeholder) VALUES (?, ?)
            ON CONFLICT (job_key) DO UPDATE SET placeholder = EXCLUDED.placeholder
            """;
    static final String FAILED = "SELECT row_key, key::text AS key, table_name FROM pgrewrite.sync_failed WHERE job_key = ? ORDER BY at, row_key";
    /**
     * Whether the row with this key now carries the value its expression gives (a plain read through the
     * parent, by key: the key index of each partition). No row: deleted since. May throw: still does not convert.
     * The key is read from the recorded object as a record of the key columns alone ({@code %5$s}, each with its
     * type): {@code jsonb_populate_record(NULL::table, ...)} casts NULL to every other column's type, which raises
     * for a domain that refuses NULL, so every look-up failed and contract refused for ever.
     */
    static final String ROW_CONVERTED = "SELECT (%1$s) FROM %2$s WHERE (%3$s) = (SELECT %4$s FROM jsonb_to_record(?::jsonb) AS r(%5$s))";
    /**
     * The row's record, locked for the look-up's transaction: an application transaction whose trigger records the
     * same key again (its ON CONFLICT updates {@code at}) is waited for first, or waits for this one; so a failure
     * recorded while the row is looked up is never forgotten with the one looked up.
     */
    static final String LOCK_FAILED = "SELECT at FROM pgrewrite.sync_failed WHERE job_key = ? AND row_key = ? FOR UPDATE";
    /** The look-up's wait for that row lock is bounded: an application transaction left open must not hold contract for ever. */
    static final String LOOKUP_LOCK_TIMEOUT = "SET LOCAL lock_timeout = '5s'";
    static final String LAST_ERROR = "SELECT coalesce(max(id), 0) FROM pgrewrite.sync_error WHERE job_key = ? AND row_key = ?";
    static final String RESOLVED_FAILED = "DELETE FROM pgrewrite.sync_failed WHERE job_key = ? AND row_key = ? AND at = ?";
    static final String RESOLVED_ERROR = "DELETE FROM pgrewrite.sync_error WHERE job_key = ? AND row_key = ? AND id <= ?";
    static final String ERRORS = "SELECT table_name, row_key, message FROM pgrewrite.sync_error WHERE job_key = ? ORDER BY id LIMIT 5";
    static final String COUNT_ERRORS = "SELECT count(*) FROM pgrewrite.sync_error WHERE job_key = ?";
    static final String COUNT_FAILED = "SELECT count(*) FROM pgrewrite.sync_failed WHERE job_key = ?";
    /** One round trip under contract's lock. */
    static final String COUNT_BOTH = "SELECT (SELECT count(*) FROM pgrewrite.sync_failed WHERE job_key = ?)"
            + " + (SELECT count(*) FROM pgrewrite.sync_error WHERE job_key = ?)";

    private static final Logger log = LoggerFactory.getLogger(FailedConversions.class);

    private FailedConversions() {
    }

    /** The failure branch's value of the shadow: NULL, or with a placeholder the row's own old shadow or the placeholder. */
    static String failureValue(String quotedTarget, String placeholderLiteral, String type) {
        if (placeholderLiteral == null) {
            return "NULL";
        }
        return "coalesce(CASE WHEN TG_OP = 'UPDATE' THEN OLD." + quotedTarget + " END, (" + placeholderLiteral + "::text)::" + type + ")";
    }

    /** The stored placeholder of the job, as an SQL literal, or null (none chosen: the failure branch sets NULL). */
    static String storedLiteral(SqlRunner sql, String jobKey) {
        if (sql.dryRun()) {
            return null;
        }
        List<String> p = sql.jdbc().queryForList(STORED_PLACEHOLDER, String.class, jobKey);
        return p.isEmpty() || p.get(0) == null ? null : sql.queryOne(ShapeChange.QUOTE_LITERAL, String.class, p.get(0));
    }

    /**
     * Chooses and stores the job's placeholder if it has none: before contract adds the first NOT NULL check.
     * Returns false when the type accepts none of the values tried and the table has no converted row (then a
     * write that does not convert fails the application's statement while the checks are there: logged).
     */
    static boolean choosePlaceholder(SqlRunner sql, JobDefinition def, Table table, String shadow) {
        if (sql.dryRun() || storedLiteral(sql, def.jobKey()) != null) {
            return true;
        }
        List<String> found = sql.jdbc().queryForList(String.format(CONVERTED_VALUE, Identifiers.quote(shadow), table.qualified()), String.class);
        String value = found.isEmpty() ? null : found.get(0);
        for (int i = 0; value == null && i < FALLBACKS.size(); i++) {
            try {
                value = sql.queryOne(String.format(CAST_TEXT, def.type()), String.class, FALLBACKS.get(i));
            } catch (DataAccessException notThisOne) {
                // the type does not take this text; try the next
            }
        }
        if (value == null) {
            log.warn("{}: no value of type {} found for rows whose {} does not convert while contract prepares SET NOT NULL;"
                    + " such a write fails until contract commits", table.name(), def.type(), def.column());
            return false;
        }
        sql.jdbc().update(STORE_PLACEHOLDER, def.jobKey(), value);
        return true;
    }

    /**
     * Before contract: each recorded row looked up again; resolved ones (converted since, or gone) are
     * forgotten with their sync_error rows. Refuses, naming rows, while any is left in either table.
     */
    static void refuseUnresolved(SqlRunner sql, JobDefinition def, Table table) {
        if (sql.dryRun()) {
            return;
        }
        String target = def.operation() == Operation.ALTER_COLUMN_TYPE ? Projection.shadowColumn(def.column()) : def.column();
        String expr = Projection.computedColumns(def, table).get(target);
        String qt = Identifiers.quote(target);
        // alter-column-type: the shadow is what the expression gives; add-column: NULL only where the expression gives NULL.
        String converted = def.operation() == Operation.ALTER_COLUMN_TYPE ? qt + " IS NOT DISTINCT FROM (" + expr + ")"
                : "(" + qt + " IS NOT NULL) = ((" + expr + ") IS NOT NULL)";
        List<String> keys = new ArrayList<>();
        List<String> fromRecord = new ArrayList<>();
        List<String> keyColumns = new ArrayList<>();
        for (String k : table.keyColumns()) {
            keys.add(Identifiers.quote(k));
            fromRecord.add("r." + Identifiers.quote(k));
            keyColumns.add(Identifiers.quote(k) + " " + table.column(k).orElseThrow().type());
        }
        String lookup = String.format(ROW_CONVERTED, converted, table.qualified(), String.join(", ", keys), String.join(", ", fromRecord),
                String.join(", ", keyColumns));
        List<String> still = new ArrayList<>();
        for (Map<String, Object> row : sql.jdbc().queryForList(FAILED, def.jobKey())) {
            String rowKey = (String) row.get("row_key");
            String why = sql.jdbc().execute((org.springframework.jdbc.core.ConnectionCallback<String>) c -> lookUp(c, def, lookup, rowKey, row.get("key")));
            if (why == null) {
                log.info("{}: row {} converts now; its sync error is resolved", table.name(), rowKey);
            } else if (still.size() < 5) {
                still.add(row.get("table_name") + " row " + rowKey + ": " + why);
            }
        }
        long errors = sql.queryOne(COUNT_ERRORS, Long.class, def.jobKey());
        long failed = sql.queryOne(COUNT_FAILED, Long.class, def.jobKey());
        if (errors == 0 && failed == 0) {
            return;
        }
        List<String> named = new ArrayList<>(still);
        if (named.isEmpty()) {
            for (Map<String, Object> e : sql.jdbc().queryForList(ERRORS, def.jobKey())) {
                named.add(e.get("table_name") + " row " + e.get("row_key") + ": " + e.get("message"));
            }
        }
        throw new IllegalStateException(table.name() + ": " + Math.max(errors, failed) + " row(s) written during the job have a "
                + def.column() + " that does not become " + def.type() + " (pgrewrite.sync_error), e.g. " + String.join("; ", named)
                + ". Nothing was contracted. Fix those rows (an UPDATE that gives " + def.column() + " a value that converts)"
                + " or 'using:', then `pgrewrite restart`: it checks each row again and forgets the ones that convert.");
    }

    /**
     * One recorded row, in a transaction of its own: its record locked ({@link #LOCK_FAILED}), the last sync_error id
     * of the key, then the row looked up; when it converts now (or is gone), the records read are deleted, none
     * written since. Returns null when resolved, else why not.
     */
    private static String lookUp(java.sql.Connection c, JobDefinition def, String lookup, String rowKey, Object key) throws java.sql.SQLException {
        boolean auto = c.getAutoCommit();
        c.setAutoCommit(false);
        try {
            java.sql.Timestamp at;
            long lastError;
            try (var st = c.createStatement()) {
                st.execute(LOOKUP_LOCK_TIMEOUT);
            }
            try (var ps = c.prepareStatement(LOCK_FAILED)) {
                ps.setString(1, def.jobKey());
                ps.setString(2, rowKey);
                try (var rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        c.commit();
                        return null; // forgotten meanwhile (another process resolved it)
                    }
                    at = rs.getTimestamp(1);
                }
            } catch (java.sql.SQLException e) {
                if (!"55P03".equals(e.getSQLState())) {
                    throw e;
                }
                c.rollback();
                return "a transaction still writing it holds its record (lock_timeout 5 s); restart when it has ended";
            }
            try (var ps = c.prepareStatement(LAST_ERROR)) {
                ps.setString(1, def.jobKey());
                ps.setString(2, rowKey);
                try (var rs = ps.executeQuery()) {
                    rs.next();
                    lastError = rs.getLong(1);
                }
            }
            String why;
            try (var ps = c.prepareStatement(lookup)) {
                ps.setString(1, key == null ? null : key.toString());
                try (var rs = ps.executeQuery()) {
                    why = !rs.next() || rs.getBoolean(1) ? null : "its new value is not the one 'using:' gives";
                }
            } catch (java.sql.SQLException e) {
                c.rollback();
                return e.getMessage();
            }
            if (why == null) {
                try (var ps = c.prepareStatement(RESOLVED_ERROR)) {
                    ps.setString(1, def.jobKey());
                    ps.setString(2, rowKey);
                    ps.setLong(3, lastError);
                    ps.executeUpdate();
                }
                try (var ps = c.prepareStatement(RESOLVED_FAILED)) {
                    ps.setString(1, def.jobKey());
                    ps.setString(2, rowKey);
                    ps.setTimestamp(3, at);
                    ps.executeUpdate();
                }
            }
            c.commit();
            return why;
        } catch (java.sql.SQLException | RuntimeException e) {
            c.rollback();
            throw e;
        } finally {
            c.setAutoCommit(auto);
        }
    }

    /**
     * Under contract's lock, after the sync trigger is dropped (no write can reach the table any more, and
     * every write before the lock committed): a row recorded since {@link #refuseUnresolved} refuses contract,
     * whose transaction then rolls back.
     */
    static void refuseRecordedSince(SqlRunner sql, JobDefinition def, Table table) {
        if (sql.dryRun()) {
            return;
        }
        long failed = sql.queryOne(COUNT_BOTH, Long.class, def.jobKey(), def.jobKey());
        if (failed > 0) {
            throw new IllegalStateException(table.name() + ": a row whose " + def.column() + " does not become " + def.type()
                    + " was written while contract prepared (pgrewrite.sync_error). Nothing was contracted; fix it, then"
                    + " `pgrewrite restart`.");
        }
    }
}
