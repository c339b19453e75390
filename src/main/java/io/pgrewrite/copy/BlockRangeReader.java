package io.pgrewrite.copy;

import java.time.Duration;
import java.util.Map;
import java.util.function.IntSupplier;
import java.util.function.Supplier;

import io.pgrewrite.job.FaultPoints;
import io.pgrewrite.pg.SqlRunner;
import io.pgrewrite.plan.PartitionWork;
import org.springframework.batch.infrastructure.item.ExecutionContext;
import org.springframework.batch.infrastructure.item.ItemStreamException;
import org.springframework.batch.infrastructure.item.ItemStreamReader;

/**
 * copy, reading side: hands out ranges of heap pages holding about {@code copy.chunk-rows} rows each.
 * Only page numbers pass through the JVM; the rows stay in PostgreSQL. Where to resume is read from
 * {@code pgrewrite.partition_state}, which each chunk updates in its own transaction together with the
 * rows it inserted: a restart continues after the last committed chunk, whatever the JobRepository
 * managed to record.
 */
public final class BlockRangeReader implements ItemStreamReader<BlockRange> {

    /** Pages now, and rows per page from the statistics (a guess of 50 when there are none). */
    static final String SIZE = """
            SELECT pg_relation_size(c.oid) / current_setting('block_size')::int AS pages,
                   CASE WHEN c.relpages > 0 AND c.reltuples > 0 THEN c.reltuples / c.relpages ELSE 50 END AS rows_per_page
              FROM pg_class c WHERE c.oid = to_regclass(?)
            """;

    static final String POSITION_KEY = "copy.next-page";

    private final Supplier<PartitionWork> work;
    private final CopyTarget target;
    private final SqlRunner sql;
    private final CopyPosition position;
    private final IntSupplier chunkRows;
    private final Supplier<Duration> pause;

    private PartitionWork w;
    private long next;
    private long pages;
    private double rowsPerPage;
    private boolean done;
    private int ranges;

    public BlockRangeReader(Supplier<PartitionWork> work, CopyTarget target, SqlRunner sql, CopyPosition position,
            IntSupplier chunkRows, Supplier<Duration> pause) {
        this.work = work;
        this.target = target;
        this.sql = sql;
        this.position = position;
        this.chunkRows = chunkRows;
        this.pause = pause;
    }

    @Override
    public void open(ExecutionContext ctx) throws ItemStreamException {
        w = work.get();
        boolean fresh = target.prepare(w.names(), w.table(), w.partition(), w.definition().storage(), w.jobKey());
        next = fresh ? 0 : position.nextPage(w.jobKey(), w.name());
        Map<String, Object> size = sql.queryRows(SIZE, w.names().qPartition()).get(0);
        pages = ((Number) size.get("pages")).longValue();
        rowsPerPage = ((Number) size.get("rows_per_page")).doubleValue();
        done = false;
        ranges = 0;
    }

    /** The partition as read from the catalog when the copy opened; the writer uses the same. */
    public PartitionWork current() {
        return w;
    }

    @Override
    public BlockRange read() {
        if (done) {
            return null;
        }
        Duration p = pause.get();
        if (ranges > 0 && !p.isZero()) {
            sleep(p);
        }
        if (++ranges == 3) {
            FaultPoints.reach("copy", w.name()); // two chunks committed, the third open
        }
        if (next == Long.MAX_VALUE) {
            done = true; // the copy finished before: the change log has everything since
            return null;
        }
        long pagesPerChunk = Math.max(1, Math.round(chunkRows.getAsInt() / Math.max(1.0, rowsPerPage)));
        BlockRange range;
        if (next + pagesPerChunk >= pages) {
            range = new BlockRange(next, null); // the last one is open-ended: pages added meanwhile come along
            done = true;
        } else {
            range = new BlockRange(next, next + pagesPerChunk);
        }
        next = range.next();
        return range;
    }

    @Override
    public void update(ExecutionContext ctx) {
        ctx.putLong(POSITION_KEY, next);
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
