package io.pgrewrite.swap;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
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
 * the type has none; three times faster than hashing the row's text) agree between P and {@code P__rw}. The
 * sum is of the bigint hashes themselves: sum(bigint) is exact (a numeric result, accumulated in 128 bits),
 * and a cast of every row's hash to numeric first cost a tenth of the checksum's time. Both sides are read in one REPEATABLE READ snapshot
 * and leave out the keys still in the change log: those are exactly the rows that may differ now
 * (changed since their last replay), and the swap replays them under its lock. Computed columns whose
 * expression is not immutable (random(), now()) cannot be recomputed; they are left out of the
 * checksum, and the report says so.
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

    /** Both checksums in one statement and one snapshot: source (n, h), then copy (n, h). */
    static final String BOTH_SIDES = "SELECT a.n, a.h, b.n, b.h FROM (%s) AS a CROSS JOIN (%s) AS b";

    /** Whether the log holds a key, in the verification's snapshot. AccessShareLock on the log only. */
    static final String LOGGED = "SELECT EXISTS (SELECT 1 FROM %s)";

    /**
     * With keys in the log: a hash anti-join (one pass over the log), never the per-row probe. Ends with
     * the read-only snapshot transaction.
     */
    static final String HASH_ANTI_JOIN = "SET LOCAL enable_nestloop = off";

    /** Each column's extended hash function (the default hash opclass of its type), if it has one that takes it. */
    static final String HASH_FUNCTIONS = """
            SELECT a.attname, (SELECT ap.amproc::regproc::text
                                 FROM pg_opclass oc
                                 JOIN pg_am am ON am.oid = oc.opcmethod AND am.amname = 'hash'
                                 JOIN pg_amproc ap ON ap.amprocfamily = oc.opcfamily AND ap.amprocnum = 2
                                      AND ap.amproclefttype = oc.opcintype
                                 JOIN pg_proc pr ON pr.oid = ap.amproc AND pr.proargtypes[0] = oc.opcintype
                                WHERE oc.opcdefault
                                  AND oc.opcintype = (SELECT CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
                                                        FROM pg_type t WHERE t.oid = a.atttypid)
                                LIMIT 1) AS fn
              FROM pg_attribute a
             WHERE a.attrelid = to_regclass(?) AND a.attnum > 0 AND NOT a.attisdropped
            """;

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
    private final Map<String, Map<String, String>> hashFunctionsByShape = new ConcurrentHashMap<>();
    private final Map<String, Boolean> immutableByShape = new ConcurrentHashMap<>();

    public Verify(SqlRunner sql, TransactionTemplate tx) {
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
        Map<String, String> hashFunctions = hashFunctionsByShape.computeIfAbsent(shape, k -> {
            Map<String, String> m = new HashMap<>();
            sql.jdbc().query(HASH_FUNCTIONS, rs -> {
                m.put(rs.getString(1), rs.getString(2));
            }, w.names().qParent());
            return m;
        });
        List<String> source = new ArrayList<>();
        List<String> target = new ArrayList<>();
        List<String> excluded = new ArrayList<>();
        int seed = 0;
        for (String col : w.projection().columns()) {
            String expr = w.projection().computed().get(col);
            if (expr != null && !immutable(w, shape + "\n" + expr, expr)) {
                excluded.add(col);
                continue;
            }
            seed++;
            source.add(hash(hashFunctions.get(col), expr != null ? "(" + expr + ")" : "s." + Identifiers.quote(col), seed));
            target.add(hash(hashFunctions.get(col), "s." + Identifiers.quote(col), seed));
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
            // The snapshot's isolation, its scans on one core, and whether the log holds a key, in one round trip
            // that also begins the transaction (the isolation was the transaction manager's: a SHOW and two SET
            // SESSION round trips around every verification). Asked in the snapshot both sums are read in: a key
            // logged after it began is in neither.
            RoundTrip begin = new RoundTrip(sql.jdbc());
            begin.update(SNAPSHOT);
            begin.update(OneCorePerWorker.SCANS);
            Supplier<Boolean> logged = begin.one(String.format(LOGGED, w.names().qLog()), Boolean.class);
            begin.run();
            String sourceSql = src;
            String targetSql = dst;
            if (Boolean.TRUE.equals(logged.get())) {
                sql.jdbc().execute(HASH_ANTI_JOIN);
            } else {
                sourceSql = String.format(CHECKSUM_ALL, sourceList, w.names().qPartition());
                targetSql = String.format(CHECKSUM_ALL, targetList, w.names().qRw());
            }
            // Both sums in one statement (one round trip; a user's expression may hold jsonb's ?, so no RoundTrip).
            return sql.jdbc().queryForObject(String.format(BOTH_SIDES, sourceSql.strip(), targetSql.strip()), (rs, i) ->
                    new Result(rs.getLong(1), rs.getLong(3), rs.getString(2), rs.getString(4), excluded));
        });
    }

    /** The parent and its columns by name and type: what the hash functions and the probe depend on. */
    static String shape(PartitionWork w) {
        StringBuilder b = new StringBuilder(w.names().qParent());
        for (var c : w.table().columns()) {
            b.append('\n').append(c.name()).append(' ').append(c.type());
        }
        return b.toString();
    }

    /** One column's 64-bit hash; NULL hashes to a constant of its own (the seed's complement). */
    static String hash(String function, String value, int seed) {
        String h = function != null ? function + "(" + value + ", " + seed + ")"
                : "hashtextextended((" + value + ")::text, " + seed + ")";
        return "coalesce(" + h + ", " + (-seed) + ")";
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
