package io.pgrewrite.copy;

import io.pgrewrite.pg.SqlRunner;
import org.springframework.transaction.support.TransactionTemplate;
import io.pgrewrite.plan.PartitionWork;

/**
 * catch up: replays the change log into {@code P__rw}, by key. One statement takes a batch of log
 * rows and, under the same snapshot, deletes those keys from {@code P__rw} and copies their current
 * rows from P. A log row is only ever visible together with the change it records (same transaction),
 * so whatever this snapshot takes, it also sees; later changes leave new log rows for the next batch.
 * Replaying in log order would be wrong (sequence order is not commit order); by key it is not.
 */
public final class CatchUp {

    static final String REPLAY = """
            WITH taken AS (
                DELETE FROM %1$s WHERE seq IN (SELECT seq FROM %1$s ORDER BY seq LIMIT ?) RETURNING %2$s
            ), changed AS (
                SELECT DISTINCT %2$s FROM taken
            ), gone AS (
                DELETE FROM %3$s r WHERE %4$s IN (SELECT %5$s FROM changed c) RETURNING 1
            ), added AS (
                INSERT INTO %3$s (%6$s) SELECT %7$s FROM ONLY %8$s WHERE %9$s IN (SELECT %5$s FROM changed c) RETURNING 1
            )
            SELECT (SELECT count(*) FROM taken) AS taken, (SELECT count(*) FROM gone) AS gone,
                   (SELECT count(*) FROM added) AS added
            """;

    static final String PENDING = "SELECT count(*) FROM %s";

    private final SqlRunner sql;

    public CatchUp(SqlRunner sql) {
        this.sql = sql;
    }

    /** What one batch did. */
    public record Batch(long taken, long deleted, long inserted) {
    }

    /** Replays up to {@code limit} log rows in the caller's transaction. */
    public Batch replay(PartitionWork w, int limit) {
        String keyList = w.keys().tuple(null).replaceAll("^\\(|\\)$", "");
        String replay = String.format(REPLAY, w.names().qLog(), keyList, w.names().qRw(), w.keys().tuple("r"),
                w.keys().tuple("c").replaceAll("^\\(|\\)$", ""), w.projection().columnList(), w.projection().selectList(),
                w.names().qPartition(), w.keys().tuple(null));
        if (sql.dryRun()) {
            sql.print(replay, limit);
            return new Batch(0, 0, 0);
        }
        return sql.jdbc().queryForObject(replay, (rs, i) -> new Batch(rs.getLong(1), rs.getLong(2), rs.getLong(3)), limit);
    }

    /** One batch in its own transaction, whose row counts reach the shared statistics as it commits ({@link io.pgrewrite.pg.StatsFlush}). */
    private Batch replayCounted(PartitionWork w) {
        Batch b = replay(w, 10_000);
        io.pgrewrite.pg.StatsFlush.request(sql.jdbc());
        return b;
    }

    /** Replays everything: for the swap, which holds P against writes while it does this. */
    public long replayAll(PartitionWork w, int batch) {
        long total = 0;
        for (Batch b = replay(w, batch); b.taken() > 0; b = replay(w, batch)) {
            total += b.taken();
        }
        return total;
    }

    /**
     * Replays batch after batch, each in a transaction of its own, until fewer than {@code small} changed
     * keys wait in the log (or the application writes faster than this replays for {@code maxBatches}).
     * Returns how many log rows it replayed.
     */
    public long untilSmall(PartitionWork w, long small, int maxBatches, TransactionTemplate tx) {
        if (sql.dryRun()) {
            return 0;
        }
        TransactionTemplate own = io.pgrewrite.pg.Transactions.requiresNew(tx);
        long replayed = 0;
        for (int i = 0; i < maxBatches && pending(w) >= small; i++) {
            replayed += own.execute(s -> replayCounted(w)).taken();
        }
        return replayed;
    }

    static final String LAST_SEQ = "SELECT coalesce(max(seq), 0) FROM %s";
    static final String WAITING_UP_TO = "SELECT EXISTS (SELECT 1 FROM %s WHERE seq <= ?)";

    /**
     * Replays every key logged until now (batches take the oldest log rows first, so this ends however
     * fast the application keeps writing); later changes stay for the next catch up.
     */
    public long everythingLoggedSoFar(PartitionWork w, TransactionTemplate tx) {
        if (sql.dryRun()) {
            return 0;
        }
        long last = sql.queryOne(String.format(LAST_SEQ, w.names().qLog()), Long.class);
        TransactionTemplate own = io.pgrewrite.pg.Transactions.requiresNew(tx);
        long replayed = 0;
        while (Boolean.TRUE.equals(sql.queryOne(String.format(WAITING_UP_TO, w.names().qLog()), Boolean.class, last))) {
            replayed += own.execute(s -> replayCounted(w)).taken();
        }
        return replayed;
    }

    /** Counts at most {@code limit + 1} log rows: cheap under the swap's lock however long the log is. */
    static final String MORE_THAN = "SELECT count(*) > ? FROM (SELECT 1 FROM %s LIMIT ?) AS l";

    /** True when more than {@code limit} changed keys wait: the swap refuses to replay that many under its lock. */
    public boolean moreThan(PartitionWork w, long limit) {
        if (sql.dryRun()) {
            return false;
        }
        return Boolean.TRUE.equals(sql.queryOne(String.format(MORE_THAN, w.names().qLog()), Boolean.class, limit, limit + 1));
    }

    public long pending(PartitionWork w) {
        return sql.queryOne(String.format(PENDING, w.names().qLog()), Long.class);
    }
}
