package io.pgrewrite.copy;

import java.util.function.Supplier;

import io.pgrewrite.pg.SqlRunner;
import io.pgrewrite.plan.PartitionWork;
import org.springframework.batch.infrastructure.item.Chunk;
import org.springframework.batch.infrastructure.item.ItemWriter;
import org.springframework.dao.DataAccessException;

/**
 * copy, writing side: one {@code INSERT INTO P__rw SELECT <projection> FROM P WHERE <key range>} per
 * range, inside the chunk's transaction, so the rows and the step's ExecutionContext commit together.
 * A value that does not cast fails only this partition, with the row named, after a clean rollback.
 */
public final class InsertSelectWriter implements ItemWriter<BlockRange> {

    /**
     * Reads P with ACCESS SHARE only (a TID range scan of the chunk's pages): the application keeps
     * reading and writing P meanwhile.
     */
    static final String INSERT_SELECT = "INSERT INTO %s (%s) SELECT %s FROM ONLY %s WHERE %s";

    private final Supplier<PartitionWork> work;
    private final SqlRunner sql;
    private final CopyPosition position;
    private final BadRow badRow;
    private final CopyListener listener;

    public InsertSelectWriter(Supplier<PartitionWork> work, SqlRunner sql, CopyPosition position, BadRow badRow,
            CopyListener listener) {
        this.work = work;
        this.sql = sql;
        this.position = position;
        this.badRow = badRow;
        this.listener = listener;
    }

    /** Told how many rows each chunk copied (progress, metrics). */
    public interface CopyListener {
        void copied(PartitionWork work, long rows);
    }

    @Override
    public void write(Chunk<? extends BlockRange> chunk) {
        PartitionWork w = work.get();
        for (BlockRange range : chunk) {
            String insert = statement(w, range);
            int rows;
            try {
                rows = sql.execute(insert, range.params());
            } catch (DataAccessException e) {
                throw badRow.fail(w, range, e);
            }
            // Same transaction as the rows: the position is never ahead of them, nor behind.
            position.advance(w.jobKey(), w.name(), rows, range.next());
            listener.copied(w, rows);
        }
        // The chunk's insert counts reach the shared statistics at its commit, not after the VACUUM and ANALYZE.
        if (!sql.dryRun()) {
            io.pgrewrite.pg.StatsFlush.request(sql.jdbc());
        }
    }

    /** The chunk's statement (also what {@code plan --dry-run} prints). */
    public static String statement(PartitionWork w, BlockRange range) {
        return String.format(INSERT_SELECT, w.names().qRw(), w.projection().columnList(), w.projection().selectList(),
                w.names().qPartition(), range.where());
    }
}
