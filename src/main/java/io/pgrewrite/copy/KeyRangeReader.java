package io.pgrewrite.copy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

import io.pgrewrite.pg.SqlRunner;
import io.pgrewrite.plan.PartitionWork;
import org.springframework.batch.infrastructure.item.ExecutionContext;
import org.springframework.batch.infrastructure.item.ItemStreamException;
import org.springframework.batch.infrastructure.item.ItemStreamReader;

/**
 * copy, reading side: hands out key ranges of about {@code copy.chunk-rows} rows, in key order. Only
 * the range bounds pass through the JVM; the rows stay in PostgreSQL. On open it asks the catalog
 * where to resume (the last key already in {@code P__rw}), so a restart continues after the last
 * committed chunk whatever the ExecutionContext says.
 */
public final class KeyRangeReader implements ItemStreamReader<KeyRange> {

    /** The key {@code chunkRows} rows further on, by the key's index (an index-only scan, no heap). */
    static final String NEXT_BOUND = "SELECT %s FROM %s t WHERE %s ORDER BY %s OFFSET ? LIMIT 1";

    static final String POSITION_KEY = "copy.after";

    private final Supplier<PartitionWork> work;
    private final CopyTarget target;
    private final SqlRunner sql;
    private final int chunkRows;
    private final Duration pause;

    private PartitionWork w;
    private List<String> after;
    private boolean done;
    private boolean first = true;
    private int ranges;

    public KeyRangeReader(Supplier<PartitionWork> work, CopyTarget target, SqlRunner sql, int chunkRows, Duration pause) {
        this.work = work;
        this.target = target;
        this.sql = sql;
        this.chunkRows = chunkRows;
        this.pause = pause;
    }

    @Override
    public void open(ExecutionContext ctx) throws ItemStreamException {
        w = work.get();
        after = target.prepare(w.names(), w.table(), w.partition(), w.definition().storage());
        done = false;
    }

    /** The partition as read from the catalog when the copy opened; the writer uses the same. */
    public PartitionWork current() {
        return w;
    }

    @Override
    public KeyRange read() {
        if (done) {
            return null;
        }
        if (!first && !pause.isZero()) {
            sleep(pause);
        }
        first = false;
        if (++ranges == 3) {
            io.pgrewrite.job.FaultPoints.reach("copy", w.name()); // two chunks committed, the third open
        }
        KeyRange range = new KeyRange(after, null);
        String where = after == null ? "true" : w.keys().tuple("t") + " > " + w.keys().params();
        List<Object> params = new ArrayList<>(after == null ? List.of() : after);
        params.add(chunkRows - 1);
        List<List<String>> next = sql.query(String.format(NEXT_BOUND, w.keys().asText("t"), w.names().qPartition(),
                where, w.keys().orderBy("t", false)), (rs, i) -> {
                    List<String> v = new ArrayList<>();
                    for (int c = 1; c <= w.keys().columns().size(); c++) {
                        v.add(rs.getString(c));
                    }
                    return v;
                }, params.toArray());
        if (next.isEmpty()) {
            done = true; // the last range is open-ended: rows inserted meanwhile are captured anyway
            return range;
        }
        after = next.get(0);
        return new KeyRange(range.after(), after);
    }

    @Override
    public void update(ExecutionContext ctx) {
        ctx.putString(POSITION_KEY, after == null ? "" : String.join(",", after));
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
