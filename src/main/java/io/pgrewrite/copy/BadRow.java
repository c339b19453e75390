package io.pgrewrite.copy;

import java.util.ArrayList;
import java.util.List;

import io.pgrewrite.definition.Operation;
import io.pgrewrite.pg.Identifiers;
import io.pgrewrite.plan.PartitionWork;
import org.springframework.dao.DataAccessException;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * When a chunk fails on a value (a cast that does not work, a constraint the new value breaks), finds
 * the first offending row of the range by bisection and builds the message. The copy step then rolls
 * the partition back cleanly once the chunk's transaction is gone ({@link RowFailedException}).
 */
public final class BadRow {

    /** {@code count(ROW(...))} makes PostgreSQL evaluate every projected expression of every row. */
    static final String PROBE = "SELECT count(ROW(%s)) FROM ONLY %s WHERE %s >= %s AND %s <= %s";

    static final String KEYS_IN_RANGE = "SELECT %s FROM ONLY %s t WHERE %s ORDER BY %s";

    static final String VALUE = "SELECT %s::text FROM ONLY %s WHERE %s = %s";

    private final JdbcTemplate jdbc;
    private final TransactionTemplate newTx;
    private final String restartHint;

    public BadRow(JdbcTemplate jdbc, TransactionTemplate tx, String restartHint) {
        this.jdbc = jdbc;
        this.newTx = io.pgrewrite.pg.Transactions.requiresNew(tx);
        this.restartHint = restartHint;
    }

    /** Returns the exception to throw for a failed chunk. */
    public RuntimeException fail(PartitionWork w, KeyRange range, DataAccessException e) {
        String state = sqlState(e);
        if (state == null || !(state.startsWith("22") || state.startsWith("23"))) {
            return e; // not about a value: let the step fail and the restart retry it
        }
        String detail;
        try {
            detail = newTx.execute(s -> locate(w, range));
        } catch (RuntimeException inner) {
            detail = "(could not find the row: " + inner.getMessage() + ")";
        }
        String fix = w.definition().operation() == Operation.BACKFILL ? "'set:'" : "'using:'";
        String file = w.definition().file() == null ? "the job definition" : w.definition().file().toString();
        return new RowFailedException(w.name() + ": " + detail + " (" + e.getMostSpecificCause().getMessage().replaceAll("\\s+", " ")
                + "). The partition is left attached and untouched. Fix " + fix + " in " + file + " (or the row), then run "
                + restartHint + ".", e);
    }

    private String locate(PartitionWork w, KeyRange range) {
        var keys = w.keys();
        List<List<String>> all = jdbc.query(String.format(KEYS_IN_RANGE, keys.asText("t"), w.names().qPartition(),
                range.where(keys), keys.orderBy("t", false)), (rs, i) -> {
                    List<String> v = new ArrayList<>();
                    for (int c = 1; c <= keys.columns().size(); c++) {
                        v.add(rs.getString(c));
                    }
                    return v;
                }, range.params());
        int lo = 0;
        int hi = all.size() - 1;
        while (lo < hi) {
            int mid = (lo + hi) / 2;
            if (fails(w, all.get(lo), all.get(mid))) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        if (all.isEmpty() || !fails(w, all.get(lo), all.get(lo))) {
            return "a row of range " + range.after() + " .. " + range.upTo() + " fails";
        }
        List<String> key = all.get(lo);
        String row = "row (" + keys.describe(key) + ")";
        if (w.definition().column() != null && w.table().column(w.definition().column()).isPresent()) {
            List<Object> p = new ArrayList<>(key);
            String value = jdbc.queryForObject(String.format(VALUE, Identifiers.quote(w.definition().column()),
                    w.names().qPartition(), keys.tuple(null), keys.params()), String.class, p.toArray());
            return row + " value '" + value + "' of " + w.definition().column() + " does not become "
                    + w.definition().type();
        }
        return row + " does not fit the new values";
    }

    private boolean fails(PartitionWork w, List<String> from, List<String> to) {
        var keys = w.keys();
        List<Object> p = new ArrayList<>(from);
        p.addAll(to);
        try {
            newTx.execute(s -> jdbc.queryForObject(String.format(PROBE, w.projection().selectList(), w.names().qPartition(),
                    keys.tuple(null), keys.params(), keys.tuple(null), keys.params()), Long.class, p.toArray()));
            return false;
        } catch (DataAccessException e) {
            return true;
        }
    }

    static String sqlState(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof java.sql.SQLException s && s.getSQLState() != null) {
                return s.getSQLState();
            }
        }
        return null;
    }

    /** A row's value does not fit: the partition is to be rolled back; the message says which row and what to do. */
    public static final class RowFailedException extends RuntimeException {
        RowFailedException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
