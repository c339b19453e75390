package io.pgrewrite.swap;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Supplier;

import io.pgrewrite.pg.Identifiers;
import io.pgrewrite.pg.OneCorePerWorker;
import io.pgrewrite.pg.RoundTrip;
import io.pgrewrite.pg.SqlRunner;
import io.pgrewrite.pg.Transactions;
import io.pgrewrite.plan.PartitionWork;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * verify: row count and an order-independent checksum (the sum over rows of a 64-bit row hash: the
 * xor of each column's own extended hash function, seeded by its position, or of its text's hash where
 * the type has none; three times faster than hashing the row's text; see {@link #hash(ColumnHash, String, int)} for
 * the types hashed otherwise) agree between P and {@code P__rw}. The
 * sum is of the bigint hashes themselves: sum(bigint) is exact (a numeric result, accumulated in 128 bits),
 * and a cast of every row's hash to numeric first cost a tenth of the checksum's time. Both sides are read in one REPEATABLE READ snapshot
 * and leave out the keys still in the change log: those are exactly the rows that may differ now
 * (changed since their last replay), and the swap replays them under its lock. Computed columns whose
 * expression is not immutable (random(), now()) cannot be recomputed; they are left out of the
 * checksum, and the report says so.
 * <p>
 * The two sides are read at once, each in a backend of its own and both in the one snapshot: the partition's on
 * the verification's connection, the copy's on a second one of the pool that imports the snapshot the first
 * exported ({@code pg_export_snapshot} / {@code SET TRANSACTION SNAPSHOT}). Two plain scans, not a parallel plan:
 * no Gather and no worker to start, so the CPU is what the two scans cost one after the other (a parallel worker
 * reading one side cost 10 % more, its start-up), and the wall time is one side's where a core is free; where
 * every core is busy (as many workers as cores) the second scan only waits its turn, and costs nothing more.
 * Measured on one demo partition (100 000 rows, 50 columns of which 3 jsonb, PostgreSQL 15, the backends' CPU
 * from /proc): a side 270-280 ms of CPU, of which reading the rows 5 ms, taking their 49 columns apart 40 ms,
 * the three jsonb columns' hashes ~90 ms and the 46 others' ~140 ms.
 */
public final class Verify {

    static final String CHECKSUM = """
            SELECT count(*) AS n, coalesce(sum(%s), 0) AS h
              FROM ONLY %s s
             WHERE NOT EXISTS (SELECT 1 FROM %s l WHERE %s = %s)
            """;

    /**
     * The same when the change log is empty in the snapshot: no anti-join. The log has no index on the key,
     * and the planner, taking it for tiny, probes it once per row (a nested loop: 12 % of the checksum's
     * CPU on the demo partition with an empty log, measured with /proc/self/stat; quadratic once it holds
     * rows).
     */
    static final String CHECKSUM_ALL = """
            SELECT count(*) AS n, coalesce(sum(%s), 0) AS h
              FROM ONLY %s s
            """;

    /**
     * The first statement of verify's read-only transaction: one snapshot for both sides. No lock. (Set here, not
     * by the transaction manager, which asks the connection's isolation first and sets it back after: three
     * round trips more.)
     */
    static final String SNAPSHOT = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ";

    /**
     * The snapshot both sides are read in, for the copy's connection to import; asked in the round trip that
     * begins the verification's transaction, so it is the transaction's snapshot. No lock.
     */
    static final String EXPORT = "SELECT pg_export_snapshot()";

    /**
     * The copy's side, on a second connection: the verification's isolation and snapshot (the exporting
     * transaction is still open: it waits for this side's result), its scan on one core, and with keys in the log
     * the hash anti-join. No lock but AccessShareLock on {@code P__rw} and the log, as the query takes them.
     * The snapshot's identifier is checked to be one (hex digits and dashes) before it goes into the statement,
     * which takes no parameter.
     */
    static final String IMPORT = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ; SET TRANSACTION SNAPSHOT '%s'; "
            + OneCorePerWorker.SCANS;

    /** Both checksums in one statement, one after the other: source (n, h), then copy (n, h), for a small partition. */
    static final String BOTH_SIDES = "SELECT a.n, a.h, b.n, b.h FROM (%s) AS a CROSS JOIN (%s) AS b";

    /**
     * From this heap size of the partition on, the two sides are read at once; below it one after the other in one
     * statement, where a second connection's round trips would cost more than the shorter wait saves. PostgreSQL's
     * own default threshold for planning a second process for a scan ({@code min_parallel_table_scan_size}).
     */
    static final long SIDES_AT_ONCE_BYTES = 8L << 20;

    /** Threads that wait for the copy's side on its own connection (the partition's side runs in the worker's). */
    private static final ExecutorService SIDES = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "pgrewrite-verify-copy-side");
        t.setDaemon(true);
        return t;
    });

    /** Whether the log holds a key, in the verification's snapshot. AccessShareLock on the log only. */
    static final String LOGGED = "SELECT EXISTS (SELECT 1 FROM %s)";

    /**
     * With keys in the log: a hash anti-join (one pass over the log), never the per-row probe. Ends with
     * the read-only snapshot transaction.
     */
    static final String HASH_ANTI_JOIN = "SET LOCAL enable_nestloop = off";

    /**
     * Each column's extended hash function (the default hash opclass of its type), if it has one that takes it;
     * its type (a domain's base type, as {@code format_type} spells it: a quoted, qualified name where needed);
     * whether that type has a default hash opclass at all (whose function may take another type, as date's
     * hashint4extended does); and whether it is an array type.
     */
    static final String HASH_FUNCTIONS = """
            SELECT a.attname, (SELECT ap.amproc::regproc::text
                                 FROM pg_opclass oc
                                 JOIN pg_am am ON am.oid = oc.opcmethod AND am.amname = 'hash'
                                 JOIN pg_amproc ap ON ap.amprocfamily = oc.opcfamily AND ap.amprocnum = 2
                                      AND ap.amproclefttype = oc.opcintype
                                 JOIN pg_proc pr ON pr.oid = ap.amproc AND pr.proargtypes[0] = oc.opcintype
                                WHERE oc.opcdefault AND oc.opcintype = b.oid
                                LIMIT 1) AS fn,
                   format_type(b.oid, NULL) AS type, b.oid::int AS type_oid,
                   EXISTS (SELECT 1
                             FROM pg_opclass oc
                             JOIN pg_am am ON am.oid = oc.opcmethod AND am.amname = 'hash'
                             JOIN pg_amproc ap ON ap.amprocfamily = oc.opcfamily AND ap.amprocnum = 2
                                  AND ap.amproclefttype = oc.opcintype
                            WHERE oc.opcdefault AND oc.opcintype = b.oid) AS hashable,
                   b.typelem <> 0 AND b.typlen = -1 AS is_array
              FROM pg_attribute a
              JOIN pg_type t ON t.oid = a.atttypid
              JOIN pg_type b ON b.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
             WHERE a.attrelid = to_regclass(?) AND a.attnum > 0 AND NOT a.attisdropped
            """;

    /**
     * How verify hashes one column's values: with its type's own function ({@code fn}); boolean by constants;
     * point by its two coordinates' float8 hashes; a type whose hash function takes another type (date's
     * hashint4extended) in an array of its kind ({@code hash_array_extended}, which finds that function itself);
     * any other by its text.
     */
    record ColumnHash(String fn, String type, int typeOid, boolean hashable, boolean array) {
        static final int BOOL = 16;  // pg_type.oid of boolean
        static final int POINT = 600;

        boolean inArray() {
            return fn == null && hashable && !array && typeOid != BOOL;
        }
    }

    /** Index expressions must be immutable: PostgreSQL's own test, in a transaction that is rolled back. */
    static final String PROBE_TABLE = "CREATE TEMP TABLE pgrewrite_probe (LIKE %s) ON COMMIT DROP";
    static final String PROBE_INDEX = "CREATE INDEX ON pg_temp.pgrewrite_probe ((%s))";

    private final SqlRunner sql;
    private final TransactionTemplate snapshot;
    private final TransactionTemplate probe;

    /**
     * What verify learns from the definition and the parent's columns, not from a partition: each column's hash
     * function, and whether each computed expression is immutable. Learnt once per run and shape of the parent
     * (its name and its columns' names and types, as the partition's work read them), not once a partition:
     * the probe was a temporary table of the parent's columns for every partition (1-2 ms, and pg_class and
     * pg_attribute rows to vacuum), the hash functions a catalog join. A function of the expression redefined
     * VOLATILE during the run keeps its column compared: then its values differ and verification fails, it
     * never passes wrongly.
     */
    private final Map<String, Map<String, ColumnHash>> hashFunctionsByShape = new ConcurrentHashMap<>();
    private final Map<String, Boolean> immutableByShape = new ConcurrentHashMap<>();

    private final long sidesAtOnceBytes;

    public Verify(SqlRunner sql, TransactionTemplate tx) {
        this(sql, tx, SIDES_AT_ONCE_BYTES);
    }

    /** With the partition size from which the sides are read at once (tests: 0, always). */
    Verify(SqlRunner sql, TransactionTemplate tx, long sidesAtOnceBytes) {
        this.sidesAtOnceBytes = sidesAtOnceBytes;
        this.sql = sql;
        this.snapshot = Transactions.requiresNew(tx);
        snapshot.setReadOnly(true); // REPEATABLE READ: SNAPSHOT, the transaction's first statement
        this.probe = Transactions.requiresNew(tx);
    }

    /** The outcome; {@code excluded} lists computed columns left out of the checksum. */
    public record Result(long sourceRows, long targetRows, String sourceHash, String targetHash, List<String> excluded) {
        public boolean ok() {
            return sourceRows == targetRows && sourceHash.equals(targetHash);
        }

        public String describe() {
            String base = ok() ? "ok: " + sourceRows + " rows, checksums equal"
                    : "MISMATCH: " + sourceRows + " rows in the partition, " + targetRows + " in the copy ("
                            + (targetRows - sourceRows) + "), checksums " + (sourceHash.equals(targetHash) ? "equal" : "differ");
            return excluded.isEmpty() ? base : base + " (not immutable, not compared: " + String.join(", ", excluded) + ")";
        }
    }

    public Result verify(PartitionWork w) {
        String shape = shape(w);
        Map<String, ColumnHash> hashFunctions = hashFunctionsByShape.computeIfAbsent(shape, k -> {
            Map<String, ColumnHash> m = new HashMap<>();
            sql.jdbc().query(HASH_FUNCTIONS, rs -> {
                m.put(rs.getString(1), new ColumnHash(rs.getString(2), rs.getString(3), rs.getInt(4), rs.getBoolean(5), rs.getBoolean(6)));
            }, w.names().qParent());
            return m;
        });
        List<String> source = new ArrayList<>();
        List<String> target = new ArrayList<>();
        List<String> excluded = new ArrayList<>();
        // Columns hashed in an array, by type: the array's elements in column order, and the array's seed.
        Map<String, List<String>> sourceArrays = new java.util.LinkedHashMap<>();
        Map<String, List<String>> targetArrays = new java.util.LinkedHashMap<>();
        Map<String, Integer> arraySeeds = new HashMap<>();
        int seed = 0;
        for (String col : w.projection().columns()) {
            String expr = w.projection().computed().get(col);
            if (expr != null && !immutable(w, shape + "\n" + expr, expr)) {
                excluded.add(col);
                continue;
            }
            seed++;
            ColumnHash h = hashFunctions.get(col);
            String sourceValue = expr != null ? "(" + expr + ")" : "s." + Identifiers.quote(col);
            String targetValue = "s." + Identifiers.quote(col);
            if (h != null && h.inArray()) {
                arraySeeds.putIfAbsent(h.type(), seed);
                sourceArrays.computeIfAbsent(h.type(), t -> new ArrayList<>()).add(sourceValue + "::" + h.type());
                targetArrays.computeIfAbsent(h.type(), t -> new ArrayList<>()).add(targetValue + "::" + h.type());
                continue;
            }
            source.add(hash(h, sourceValue, seed));
            target.add(hash(h, targetValue, seed));
        }
        for (var e : sourceArrays.entrySet()) {
            source.add(inArray(e.getValue(), arraySeeds.get(e.getKey())));
            target.add(inArray(targetArrays.get(e.getKey()), arraySeeds.get(e.getKey())));
        }
        String sourceList = source.isEmpty() ? "0" : String.join(" # ", source);
        String targetList = target.isEmpty() ? "0" : String.join(" # ", target);
        String src = String.format(CHECKSUM, sourceList, w.names().qPartition(),
                w.names().qLog(), w.keys().tuple("l"), w.keys().tuple("s"));
        String dst = String.format(CHECKSUM, targetList, w.names().qRw(),
                w.names().qLog(), w.keys().tuple("l"), w.keys().tuple("s"));
        if (sql.dryRun()) {
            sql.print(src);
            sql.print(dst);
            return new Result(0, 0, "", "", excluded);
        }
        io.pgrewrite.job.FaultPoints.reach("verify:before-snapshot", w.name()); // copied, indexed, caught up
        return snapshot.execute(s -> {
            // The snapshot's isolation, its scans on one core, whether the log holds a key and the snapshot for the
            // copy's connection, in one round trip that also begins the transaction (the isolation was the
            // transaction manager's: a SHOW and two SET SESSION round trips around every verification). Asked in
            // the snapshot both sums are read in: a key logged after it began is in neither.
            RoundTrip begin = new RoundTrip(sql.jdbc());
            begin.update(SNAPSHOT);
            begin.update(OneCorePerWorker.SCANS);
            Supplier<Boolean> logged = begin.one(String.format(LOGGED, w.names().qLog()), Boolean.class);
            boolean atOnce = w.partition().heapBytes() >= sidesAtOnceBytes;
            Supplier<String> exported = atOnce ? begin.one(EXPORT, String.class) : () -> null;
            begin.run();
            boolean antiJoin = Boolean.TRUE.equals(logged.get());
            String sourceSql = antiJoin ? src : String.format(CHECKSUM_ALL, sourceList, w.names().qPartition());
            String targetSql = antiJoin ? dst : String.format(CHECKSUM_ALL, targetList, w.names().qRw());
            if (antiJoin) {
                sql.jdbc().execute(HASH_ANTI_JOIN);
            }
            if (!atOnce) {
                // Both sums in one statement (one round trip; a user's expression may hold jsonb's ?, so no RoundTrip).
                return sql.jdbc().queryForObject(String.format(BOTH_SIDES, sourceSql.strip(), targetSql.strip()), (rs, i) ->
                        new Result(rs.getLong(1), rs.getLong(3), rs.getString(2), rs.getString(4), excluded));
            }
            io.pgrewrite.job.FaultPoints.reach("verify:snapshot-exported", w.name());
            String snapshotId = exported.get();
            if (snapshotId == null || !snapshotId.matches("[0-9A-Fa-f-]+")) {
                throw new IllegalStateException(w.name() + ": the server exported snapshot '" + snapshotId
                        + "', which is not a snapshot identifier");
            }
            Future<String[]> copySide = SIDES.submit(() -> copySide(snapshotId, antiJoin, targetSql.strip()));
            String[] partitionSide;
            try {
                // Both sums read at once; a user's expression may hold jsonb's ?, so no RoundTrip.
                partitionSide = sql.jdbc().queryForObject(sourceSql.strip(), (rs, i) -> new String[] {rs.getString(1), rs.getString(2)});
            } catch (RuntimeException e) {
                copySide.cancel(true);
                throw e;
            }
            String[] copy = await(copySide, w);
            if (copy == null) { // no second connection: the copy's side here, after the partition's, same snapshot
                copy = sql.jdbc().queryForObject(targetSql.strip(), (rs, i) -> new String[] {rs.getString(1), rs.getString(2)});
            }
            return new Result(Long.parseLong(partitionSide[0]), Long.parseLong(copy[0]), partitionSide[1], copy[1], excluded);
        });
    }

    /**
     * The copy's (n, h) on a connection of its own in the exported snapshot, or null when the pool has no
     * connection to give (the caller then reads the copy itself, after the partition).
     */
    private String[] copySide(String snapshotId, boolean antiJoin, String targetSql) throws SQLException {
        // None the pool can spare now: read here rather than wait for one with the snapshot open (and its xmin held).
        Connection c = io.pgrewrite.pg.SpareConnection.take(sql.jdbc().getDataSource());
        if (c == null) {
            return null;
        }
        try (c) {
            boolean autoCommit = c.getAutoCommit();
            c.setAutoCommit(false);
            try (Statement st = c.createStatement()) {
                st.execute(String.format(IMPORT, snapshotId) + (antiJoin ? "; " + HASH_ANTI_JOIN : ""));
                try (ResultSet rs = st.executeQuery(targetSql)) {
                    rs.next();
                    return new String[] {rs.getString(1), rs.getString(2)};
                }
            } finally {
                c.rollback();
                c.setAutoCommit(autoCommit);
            }
        }
    }

    private static String[] await(Future<String[]> side, PartitionWork w) {
        try {
            return side.get();
        } catch (InterruptedException e) {
            side.cancel(true);
            Thread.currentThread().interrupt();
            throw new IllegalStateException(w.name() + ": interrupted while verifying", e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof SQLException se) {
                throw new IllegalStateException(w.name() + ": verification could not read the copy: " + se.getMessage(), se);
            }
            throw cause instanceof RuntimeException re ? re : new IllegalStateException(cause);
        }
    }

    /** The parent and its columns by name and type: what the hash functions and the probe depend on. */
    static String shape(PartitionWork w) {
        StringBuilder b = new StringBuilder(w.names().qParent());
        for (var c : w.table().columns()) {
            b.append('\n').append(c.name()).append(' ').append(c.type());
        }
        return b.toString();
    }

    /**
     * One column's 64-bit hash; NULL hashes to a constant of its own (the seed's complement, or a third constant for
     * boolean). The cheapest exact form the type allows, counted with callgrind on one side of the demo partition
     * (100 000 rows, PostgreSQL 15): a boolean's three states as three constants, no function call (its 6 columns
     * 56 M instructions against 216 M by their text); a point's coordinates by float8's hash (85 M against 242 M
     * for point_out and its text's hash); any type without a hash function of its own by its text.
     */
    static String hash(ColumnHash h, String value, int seed) {
        if (h != null && h.fn() == null && h.typeOid() == ColumnHash.BOOL) {
            // The simple CASE evaluates the value once (a computed column's expression is not repeated).
            return "CASE " + value + " WHEN true THEN " + constant(seed, 1) + " WHEN false THEN " + constant(seed, 2)
                    + " ELSE " + constant(seed, 3) + " END";
        }
        if (h != null && h.fn() == null && h.typeOid() == ColumnHash.POINT) {
            // float8's hash equates -0 with 0 (and the NaNs), as it does for a float8 column.
            return "coalesce(hashfloat8extended((" + value + ")[0], " + constant(seed, 8) + ") # hashfloat8extended((" + value
                    + ")[1], " + constant(seed, 4) + "), " + constant(seed, 9) + ")";
        }
        return hash(h != null ? h.fn() : null, value, seed);
    }

    /**
     * One column's 64-bit hash by a function of its type, or of its text, seeded by a constant of the column's
     * position; NULL hashes to another such constant. Not by the position itself: some types' extended hash of a
     * zero is the seed plus a constant (numeric's 0 hashes to seed - 1, float8's to the seed), and with NULL as the
     * seed's complement (-seed = ~(seed - 1)) two numeric columns both changed from 0 to NULL left the row's xor, and
     * so the checksum, as it was.
     */
    static String hash(String function, String value, int seed) {
        long s = constant(seed, 6);
        String h = function != null ? function + "(" + value + ", " + s + ")"
                : "hashtextextended((" + value + ")::text, " + s + ")";
        return "coalesce(" + h + ", " + constant(seed, 7) + ")";
    }

    /**
     * The columns of one type whose hash function takes another type (date's is hashint4extended), in one array:
     * hash_array_extended finds the type's function itself and mixes the elements by position, a NULL element as
     * 0. The seed is not 0: an element's extended hash of its seed can be 0 (float8's of 0 is the seed itself), and
     * would equal a NULL. Cheaper than each one's text (the demo table's 4 dates: 138 M instructions against 292 M on 100 000 rows).
     */
    static String inArray(List<String> values, int seed) {
        return "hash_array_extended(ARRAY[" + String.join(", ", values) + "], " + constant(seed, 5) + ")";
    }

    /** A 64-bit constant of the seed and a kind (splitmix64's finalizer), never 0. */
    static long constant(int seed, int kind) {
        long z = seed * 0x9E3779B97F4A7C15L + kind * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        z = z ^ (z >>> 31);
        return z == 0 || z == Long.MIN_VALUE ? kind : z;
    }

    /**
     * Whether the server takes {@code expr} in an index (so it is immutable and its value can be compared). The
     * answer is kept for the run and shape only when it is definite: the probe passed, or the server refused the
     * expression itself (SQLSTATE class 42, or 0A000 feature not supported). Any other error (a lock or statement
     * timeout, a lost connection) excludes the column for this partition only and asks again for the next one.
     */
    private boolean immutable(PartitionWork w, String key, String expr) {
        Boolean known = immutableByShape.get(key);
        if (known != null) {
            return known;
        }
        try {
            probe.execute(s -> {
                s.setRollbackOnly();
                sql.jdbc().execute(String.format(PROBE_TABLE, w.names().qParent()));
                sql.jdbc().execute(String.format(PROBE_INDEX, expr));
                return null;
            });
            immutableByShape.put(key, true);
            return true;
        } catch (RuntimeException e) {
            String state = null;
            for (Throwable t = e; t != null && state == null; t = t.getCause()) {
                if (t instanceof java.sql.SQLException se) {
                    state = se.getSQLState();
                }
            }
            if (state != null && (state.startsWith("42") || state.equals("0A000"))) {
                immutableByShape.put(key, false);
            }
            return false;
        }
    }
}
