package io.pgrewrite.copy;

import java.util.function.Supplier;

import io.pgrewrite.job.PartitionState;
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
public final class InsertSelectWriter implements ItemWriter<KeyRange> {

    /** Reads P with ACCESS SHARE only: the application keeps reading and writing P meanwhile. */
    static final String INSERT_SELECT = "INSERT INTO %s (%s) SELECT %s FROM ONLY %s WHERE %s";

    private final Supplier<PartitionWork> work;
    private final SqlRunner sql;
    private final PartitionState state;
    private final BadRow badRow;
    private final CopyListener listener;

    public InsertSelectWriter(Supplier<PartitionWork> work, SqlRunner sql, PartitionState state, BadRow badRow,
            CopyListener listener) {
        this.work = work;
        this.sql = sql;
        this.state = state;
        this.badRow = badRow;
        this.listener = listener;
    }

    /** Told how many rows each chunk copied (progress, metrics). */
    public interface CopyListener {
        void copied(PartitionWork work, long rows);
    }

    @Override
    public void write(Chunk<? extends KeyRange> chunk) {
        PartitionWork w = work.get();
        for (KeyRange range : chunk) {
            String insert = String.format(INSERT_SELECT, w.names().qRw(), w.projection().columnList(),
                    w.projection().selectList(), w.names().qPartition(), range.where(w.keys()));
            int rows;
            try {
                rows = sql.execute(insert, range.params());
            } catch (DataAccessException e) {
                throw badRow.fail(w, range, e);
            }
            state.addRows(w.jobKey(), w.name(), rows);
            listener.copied(w, rows);
        }
    }
}
