package io.pgrewrite.pg;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

import org.springframework.jdbc.core.ConnectionCallback;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.core.RowMapper;
import org.springframework.jdbc.core.StatementCreatorUtils;
import org.springframework.jdbc.core.SqlTypeValue;

/**
 * Several statements sent to the server in one round trip: the statements stay what they are (each a named
 * constant with its own bind parameters), they are only joined into one prepared statement, which the
 * PostgreSQL driver sends as one Parse/Bind/Execute per statement and a single Sync, and whose results come
 * back in order. For the catalog reads of one partition's step (a dozen kinds of object, most of which a
 * table usually has none of), where each separate query cost a round trip and a trip through the
 * driver and JdbcTemplate for nothing.
 * <p>
 * Only for statements without a literal {@code ?} outside quotes (the driver would take it for a parameter),
 * so not for DDL printed by the catalog (an expression may use jsonb's {@code ?}). In autocommit they run in
 * one implicit transaction, inside the caller's transaction in it; an error stops the rest. Register with
 * {@link #list} / {@link #one} / {@link #update}, then {@link #run}, then read the suppliers.
 */
public final class RoundTrip {

    private final JdbcTemplate jdbc;
    private final List<Query<?>> queries = new ArrayList<>();
    private boolean ran;

    public RoundTrip(JdbcTemplate jdbc) {
        this.jdbc = jdbc;
    }

    private static final class Query<T> {
        final String sql;
        /** null for a statement that returns no rows */
        final RowMapper<T> mapper;
        final Object[] args;
        List<T> rows;

        Query(String sql, RowMapper<T> mapper, Object[] args) {
            this.sql = sql.strip();
            this.mapper = mapper;
            this.args = args;
        }
    }

    /** All rows of a query, available after {@link #run}. */
    public <T> Supplier<List<T>> list(String sql, RowMapper<T> mapper, Object... args) {
        Query<T> q = add(sql, mapper, args);
        return () -> rows(q);
    }

    /** A query's single value (null when it has no row), available after {@link #run}. */
    public <T> Supplier<T> one(String sql, Class<T> type, Object... args) {
        Query<T> q = add(sql, (rs, i) -> rs.getObject(1, type), args);
        return () -> {
            List<T> r = rows(q);
            return r.isEmpty() ? null : r.get(0);
        };
    }

    /** A statement that returns no rows (its update count is not kept). */
    public void update(String sql, Object... args) {
        add(sql, null, args);
    }

    private <T> Query<T> add(String sql, RowMapper<T> mapper, Object[] args) {
        if (ran) {
            throw new IllegalStateException("these reads already ran");
        }
        Query<T> q = new Query<>(sql, mapper, args);
        queries.add(q);
        return q;
    }

    private <T> List<T> rows(Query<T> q) {
        if (!ran) {
            throw new IllegalStateException("read before run()");
        }
        return q.rows;
    }

    /** Sends every registered statement in one round trip and keeps their rows. */
    public void run() {
        if (ran) {
            throw new IllegalStateException("these reads already ran");
        }
        ran = true;
        if (queries.isEmpty()) {
            return;
        }
        StringBuilder text = new StringBuilder();
        for (Query<?> q : queries) {
            text.append(text.length() == 0 ? "" : ";\n").append(q.sql.endsWith(";") ? q.sql.substring(0, q.sql.length() - 1) : q.sql);
        }
        jdbc.execute((ConnectionCallback<Void>) c -> {
            try (PreparedStatement ps = c.prepareStatement(text.toString())) {
                int p = 1;
                for (Query<?> q : queries) {
                    for (Object a : q.args) {
                        StatementCreatorUtils.setParameterValue(ps, p++, SqlTypeValue.TYPE_UNKNOWN, a);
                    }
                }
                boolean isResult = ps.execute();
                for (Query<?> q : queries) {
                    if (isResult != (q.mapper != null)) {
                        throw new IllegalStateException((isResult ? "a result set" : "no result set") + " for " + q.sql);
                    }
                    if (isResult) {
                        try (ResultSet rs = ps.getResultSet()) {
                            collect(q, rs);
                        }
                    }
                    isResult = ps.getMoreResults();
                }
            }
            return null;
        });
    }

    private static <T> void collect(Query<T> q, ResultSet rs) throws java.sql.SQLException {
        List<T> rows = new ArrayList<>();
        int i = 0;
        while (rs.next()) {
            rows.add(q.mapper.mapRow(rs, i++));
        }
        q.rows = rows;
    }
}
