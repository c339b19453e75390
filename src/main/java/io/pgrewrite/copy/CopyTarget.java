package io.pgrewrite.copy;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

import io.pgrewrite.pg.Identifiers;
import io.pgrewrite.plan.PartitionWork;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.core.JdbcTemplate;

import io.pgrewrite.pg.LockRetry;
import io.pgrewrite.pg.SqlRunner;
import io.pgrewrite.plan.Partition;
import io.pgrewrite.plan.PartitionNames;
import io.pgrewrite.plan.Table;

/**
 * The rewritten table {@code P__rw}: created with the parent's columns (by name, in the parent's
 * order, without dropped columns) and P's storage parameters, no indexes. Before a copy starts or
 * resumes, this looks at the catalog and says where to continue.
 */
public final class CopyTarget {

    private static final Logger log = LoggerFactory.getLogger(CopyTarget.class);

    /**
     * LIKE P: its live columns in P's order (the parent's, with their types and names, as every partition has them,
     * but a table attached as a partition keeps the order it was made with), P's NOT NULLs, defaults, storage and
     * compression, which may be its own (a default or NOT NULL set on P alone), as the blocking ALTER keeps them.
     * LIKE the parent instead lost those and put the columns in the parent's order (an application's positional
     * INSERT into the partition then failed, or swapped two columns of a type). Nobody but
     * pgrewrite sees this table until the swap, so no lock matters here. The parent's valid CHECKs follow
     * with {@link #ADD_CHECK}, not with INCLUDING CONSTRAINTS, which would also add its NOT VALID ones as
     * valid (and a legacy row that violates one would fail the copy): those come after the copy, NOT VALID
     * (see {@link #missingNotValidChecks}).
     */
    static final String CREATE_RW = "CREATE TABLE %s (LIKE %s INCLUDING DEFAULTS"
            + " INCLUDING STORAGE INCLUDING COMPRESSION)%s%s";

    /** P's own tablespace (none: the database's default), where P__rw goes too, as a blocking ALTER keeps it. Catalog only. */
    static final String TABLESPACE = "SELECT t.spcname FROM pg_class c JOIN pg_tablespace t ON t.oid = c.reltablespace"
            + " WHERE c.oid = to_regclass(?)";

    /**
     * The parent's valid CHECKs, which ATTACH requires on the partition. On the new, empty P__rw: nothing
     * to scan, no lock on anything else.
     */
    static final String ADD_CHECK = "ALTER TABLE %s ADD CONSTRAINT %s %s";

    /** Valid CHECKs of a table (the parent's, or those P__rw carries), by name and definition. Catalog only. */
    static final String CHECKS = "SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint"
            + " WHERE conrelid = to_regclass(?) AND contype = 'c' AND convalidated";

    /**
     * The parent's NOT VALID CHECKs that P__rw lacks, by name and definition (pg_get_constraintdef ends
     * in NOT VALID for them). Catalog only.
     */
    static final String MISSING_NOT_VALID_CHECKS = """
            SELECT p.conname, pg_get_constraintdef(p.oid) AS def FROM pg_constraint p
             WHERE p.conrelid = to_regclass(?) AND p.contype = 'c' AND NOT p.convalidated
               AND NOT EXISTS (SELECT 1 FROM pg_constraint r WHERE r.conrelid = to_regclass(?) AND r.conname = p.conname
                                 AND pg_get_constraintdef(r.oid) = pg_get_constraintdef(p.oid))
             ORDER BY 1
            """;

    /** Live columns by name, type and NOT NULL: a partition must have exactly its parent's. Catalog only. */
    static final String COLUMNS = "SELECT attname || ' ' || format_type(atttypid, atttypmod) || CASE WHEN attnotnull"
            + " THEN ' NOT NULL' ELSE '' END FROM pg_attribute WHERE attrelid = to_regclass(?) AND attnum > 0 AND NOT attisdropped";

    /**
     * The copies IndexBuild makes of P's indexes are named after the source index's OID ({@code pgrw_<oid>}):
     * those missing on P__rw. An index added to the parent during the job is cloned onto P (a new OID),
     * not onto P__rw, which is not attached. Catalog only.
     */
    static final String MISSING_INDEXES = """
            SELECT 'pgrw_' || i.indexrelid FROM pg_index i WHERE i.indrelid = to_regclass(?)
            EXCEPT
            SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = to_regclass(?)
            """;

    static final String DROP_RW = "DROP TABLE IF EXISTS %s";

    static final String EXISTS = "SELECT to_regclass(?) IS NOT NULL";

    static final String HAS_BOUND_CHECK = "SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = to_regclass(?) AND conname = ?)";

    private final SqlRunner sql;
    private final LockRetry lockRetry;
    private final Capture capture;
    private final CopyPosition position;

    public CopyTarget(SqlRunner sql, LockRetry lockRetry, Capture capture, CopyPosition position) {
        this.sql = sql;
        this.lockRetry = lockRetry;
        this.capture = capture;
        this.position = position;
    }

    public boolean exists(String qualified) {
        return Boolean.TRUE.equals(sql.queryOne(EXISTS, Boolean.class, qualified));
    }

    /**
     * Makes sure capture is on and {@code P__rw} exists. Returns true when the working copy is new (the
     * copy starts at page 0), false when one exists already (the copy resumes where it stopped). A
     * working copy without its capture trigger missed changes: it is thrown away.
     */
    public boolean prepare(PartitionNames n, Table table, Partition p, Map<String, String> storage, String jobKey) {
        // What the partition's catalog says, in one round trip (catalog only): is capture on, is there a working copy,
        // and, for a new one, the parent's CHECKs and P's tablespace (read whether or not they are needed: a read more
        // in the same round trip costs less than a round trip more; neither changes by dropping the copy below).
        io.pgrewrite.pg.RoundTrip reads = new io.pgrewrite.pg.RoundTrip(sql.jdbc());
        java.util.function.Supplier<Boolean> captureOn = sql.dryRun() ? () -> true : capture.installed(reads, n);
        java.util.function.Supplier<Boolean> rwExists = sql.dryRun() ? () -> false : reads.one(EXISTS, Boolean.class, n.qRw());
        java.util.function.Supplier<List<String[]>> checkRows = sql.dryRun() ? List::of
                : reads.list(CHECKS, (rs, i) -> new String[] {rs.getString(1), rs.getString(2)}, n.qParent());
        java.util.function.Supplier<List<String>> spaces = reads.list(TABLESPACE, (rs, i) -> rs.getString(1), n.qPartition());
        reads.run();
        boolean exists = Boolean.TRUE.equals(rwExists.get());
        if (!Boolean.TRUE.equals(captureOn.get())) {
            drop(n);
            exists = false;
            capture.install(n, table);
        }
        String drift = exists ? shapeDrift(sql.jdbc(), n) : null;
        if (drift != null) {
            // The parent changed since the copy began (a deploy added a column, a CHECK): a copy of the
            // old shape could never be attached. The change log stays: it is about P, not about the copy.
            log.warn("{}: {}; it is dropped and copied again", n.rw(), drift);
            drop(n);
            exists = false;
        }
        if (!exists) {
            List<String[]> checks = checkRows.get();
            List<String> tablespace = spaces.get();
            // LIKE takes only AccessShareLock on P, which autovacuum does not conflict with (Scope.ONLY).
            lockRetry.run("create " + n.rw(), List.of(n.qPartition()), LockRetry.Scope.ONLY, () -> { }, t -> {
                // The table and its CHECKs in one round trip (DDL text without parameters).
                List<String> ddl = new java.util.ArrayList<>();
                ddl.add(String.format(CREATE_RW, n.qRw(), n.qPartition(), with(p.reloptions(), storage),
                        tablespace.isEmpty() ? "" : " TABLESPACE " + Identifiers.quote(tablespace.get(0))));
                for (String[] c : checks) {
                    ddl.add(String.format(ADD_CHECK, n.qRw(), Identifiers.quote(c[0]), c[1]));
                }
                sql.executeAll(ddl);
                if (!sql.dryRun()) {
                    // Both in one round trip, in this transaction: the copy starts at page 0, from this table.
                    io.pgrewrite.pg.RoundTrip writes = new io.pgrewrite.pg.RoundTrip(sql.jdbc());
                    position.reset(writes, jobKey, p.name());
                    // Capture is on (above): from here on every change must reach the log; the swap checks it did.
                    io.pgrewrite.job.PartitionState.recordSource(writes, jobKey, p.name(), n.qPartition(),
                            PartitionNames.CAPTURE_TRIGGER);
                    writes.run();
                }
                return null;
            });
            return true;
        }
        return false;
    }

    /**
     * Whether {@code P__rw} still has the shape it must have to be attached in P's place: null when it
     * does, else what differs. Columns (name, type, NOT NULL) must be P's, the parent's CHECKs
     * must be there (same definition, NOT VALID included); once the bound CHECK is there (IndexBuild
     * ran) every index of P must have its copy and P's own CHECKs too. A handful of catalog reads: cheap
     * enough to ask before every step and under the swap's lock.
     */
    public static String drift(JdbcTemplate jdbc, PartitionWork w) {
        return Shape.read(jdbc, w.names()).drift(w);
    }

    /**
     * What {@link #drift} and {@link #requireShape} look at, read in one round trip: the columns of P and of P__rw, the
     * CHECKs of the parent and of P__rw, whether the bound CHECK is there, and what P__rw still lacks of P's indexes and the
     * parent's NOT VALID CHECKs (read whether the copy is indexed yet or not: a catalog read costs less than a
     * round trip). Catalog only, no locks.
     */
    record Shape(PartitionNames n, List<String> sourceColumns, List<String> rwColumns, List<String> parentChecks,
            List<String> rwChecks, boolean bounded, List<String> missingIndexes, Map<String, String> missingChecks) {

        static Shape read(JdbcTemplate jdbc, PartitionNames n) {
            io.pgrewrite.pg.RoundTrip reads = new io.pgrewrite.pg.RoundTrip(jdbc);
            java.util.function.Supplier<List<String>> sourceColumns = reads.list(COLUMNS, (rs, i) -> rs.getString(1), n.qPartition());
            java.util.function.Supplier<List<String>> rwColumns = reads.list(COLUMNS, (rs, i) -> rs.getString(1), n.qRw());
            java.util.function.Supplier<List<String>> parentChecks = reads.list(CHECKS, (rs, i) -> rs.getString(1) + ": " + rs.getString(2), n.qParent());
            java.util.function.Supplier<List<String>> rwChecks = reads.list(CHECKS, (rs, i) -> rs.getString(1) + ": " + rs.getString(2), n.qRw());
            java.util.function.Supplier<Boolean> bounded = reads.one(HAS_BOUND_CHECK, Boolean.class, n.qRw(), PartitionNames.BOUND_CHECK);
            java.util.function.Supplier<List<String>> indexes = reads.list(MISSING_INDEXES, (rs, i) -> rs.getString(1), n.qPartition(), n.qRw());
            java.util.function.Supplier<List<String[]>> checks = reads.list(MISSING_NOT_VALID_CHECKS,
                    (rs, i) -> new String[] {rs.getString(1), rs.getString(2)}, n.qParent(), n.qRw());
            reads.run();
            Map<String, String> missingChecks = new java.util.LinkedHashMap<>();
            checks.get().forEach(c -> missingChecks.put(c[0], c[1]));
            return new Shape(n, sourceColumns.get(), rwColumns.get(), parentChecks.get(), rwChecks.get(),
                    Boolean.TRUE.equals(bounded.get()), indexes.get(), missingChecks);
        }

        /**
         * P's columns (a column added to or changed on the parent is P's too, and P may have NOT NULLs of its own) and
         * the parent's CHECKs: a difference there means copy again. Null when they match, or when P is gone (the swap
         * finds that).
         */
        String shapeDrift() {
            if (sourceColumns.isEmpty()) {
                return null;
            }
            Set<String> want = new TreeSet<>(sourceColumns);
            Set<String> have = new TreeSet<>(rwColumns);
            if (!want.equals(have)) {
                Set<String> added = new TreeSet<>(want);
                added.removeAll(have);
                Set<String> extra = new TreeSet<>(have);
                extra.removeAll(want);
                return "the columns of " + n.partition() + " changed since " + n.rw() + " was created (now " + added
                        + (extra.isEmpty() ? "" : ", no longer " + extra) + ")";
            }
            Set<String> checks = new TreeSet<>(parentChecks);
            checks.removeAll(rwChecks);
            return checks.isEmpty() ? null : "CHECK constraints of " + n.parent() + " missing on " + n.rw() + ": " + checks;
        }

        /** As {@link CopyTarget#drift}. */
        String drift(PartitionWork w) {
            String shape = shapeDrift();
            if (shape != null) {
                return shape;
            }
            if (!bounded) {
                return null; // not indexed yet: indexes and NOT VALID checks come then
            }
            if (!missingIndexes.isEmpty()) {
                return "indexes of " + w.name() + " without their copy on " + w.names().rw() + ": " + missingIndexes;
            }
            return missingChecks.isEmpty() ? null
                    : "NOT VALID CHECKs of " + w.names().parent() + " missing on " + w.names().rw() + ": " + missingChecks.keySet();
        }
    }

    /** Columns and the parent's CHECKs: a difference there means copy again. Null when they match. */
    static String shapeDrift(JdbcTemplate jdbc, PartitionNames n) {
        return Shape.read(jdbc, n).shapeDrift();
    }

    /**
     * The parent's NOT VALID CHECKs P__rw still lacks, as name → definition: IndexBuild adds them after the
     * copy, NOT VALID, so they stay NOT VALID on the rewritten partition as on P, and the legacy rows that
     * violate them are copied as they are (a NOT VALID CHECK applies to rows written later, like the
     * application's since; ATTACH accepts a NOT VALID check on the partition when the parent's is NOT VALID).
     */
    public static Map<String, String> missingNotValidChecks(JdbcTemplate jdbc, PartitionNames n) {
        Map<String, String> m = new java.util.LinkedHashMap<>();
        jdbc.query(MISSING_NOT_VALID_CHECKS, (org.springframework.jdbc.core.RowCallbackHandler) rs -> m.put(rs.getString(1),
                rs.getString(2)), n.qParent(), n.qRw());
        return m;
    }

    /** {@link #missingNotValidChecks}, registered to go in one round trip with other reads. */
    public static java.util.function.Supplier<Map<String, String>> missingNotValidChecks(io.pgrewrite.pg.RoundTrip reads, PartitionNames n) {
        java.util.function.Supplier<List<String[]>> rows = reads.list(MISSING_NOT_VALID_CHECKS,
                (rs, i) -> new String[] {rs.getString(1), rs.getString(2)}, n.qParent(), n.qRw());
        return () -> {
            Map<String, String> m = new java.util.LinkedHashMap<>();
            rows.get().forEach(r -> m.put(r[0], r[1]));
            return m;
        };
    }

    /** {@link #missingIndexes}, registered to go in one round trip with other reads. */
    public static java.util.function.Supplier<List<String>> missingIndexes(io.pgrewrite.pg.RoundTrip reads, PartitionNames n) {
        return reads.list(MISSING_INDEXES, (rs, i) -> rs.getString(1), n.qPartition(), n.qRw());
    }

    /** Index copies P__rw still lacks (IndexBuild adds them). */
    public static List<String> missingIndexes(JdbcTemplate jdbc, PartitionNames n) {
        return jdbc.queryForList(MISSING_INDEXES, String.class, n.qPartition(), n.qRw());
    }

    /**
     * Before index and swap: a P__rw whose columns or CHECKs no longer match the parent throws
     * {@link PartitionWork.ShapeDrift}: the partition is rolled back and copied again. Otherwise true when the
     * copy is indexed but lacks an index of P or a NOT VALID CHECK of the parent ({@link #drift}, from the
     * same round trip): the swap then has IndexBuild add them first.
     */
    public boolean requireShape(PartitionWork w) {
        if (sql.dryRun()) {
            return false;
        }
        Shape shape = Shape.read(sql.jdbc(), w.names());
        String drift = shape.shapeDrift();
        if (drift != null) {
            throw new PartitionWork.ShapeDrift(w.name() + ": " + drift);
        }
        return shape.drift(w) != null;
    }

    public void drop(PartitionNames n) {
        lockRetry.run("drop " + n.rw(), List.of(n.qRw()), t -> sql.execute(String.format(DROP_RW, n.qRw())));
    }

    /** P's storage parameters, overridden by the definition's {@code storage:}. */
    static String with(List<String> reloptions, Map<String, String> storage) {
        Map<String, String> opts = new TreeMap<>();
        for (String o : reloptions) {
            int eq = o.indexOf('=');
            opts.put(o.substring(0, eq), o.substring(eq + 1));
        }
        opts.putAll(storage);
        if (opts.isEmpty()) {
            return "";
        }
        StringBuilder b = new StringBuilder(" WITH (");
        opts.forEach((k, v) -> {
            // Parameter names are keywords (toast.fillfactor is namespace.name), not quotable identifiers:
            // accept only the shape they have.
            if (!k.matches("[a-z_][a-z0-9_]*(\\.[a-z_][a-z0-9_]*)?")) {
                throw new IllegalArgumentException("not a storage parameter name: " + k);
            }
            b.append(b.length() > 7 ? ", " : "").append(k).append(" = ")
                    .append(v.matches("[A-Za-z0-9_.]+") ? v : "'" + v.replace("'", "''") + "'");
        });
        return b.append(")").toString();
    }
}
