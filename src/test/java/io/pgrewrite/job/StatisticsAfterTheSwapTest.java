package io.pgrewrite.job;

import static io.pgrewrite.testsupport.Tables.one;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.LocalDate;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A DBA runs a type change with the default {@code statistics: after-swap}: each day is swapped in first
 * and analyzed afterwards, on a connection of its own (the worker has gone on): its one ANALYZE ended after
 * its swap. With {@code statistics: before-swap} the
 * copy was analyzed before the swap, as before the key existed. Either way every day has its statistics
 * when the job completes, and none is left pending. The application writes as its DML-only role throughout.
 */
class StatisticsAfterTheSwapTest {

    static final int DAYS = 3;
    static final int ROWS = 2000;

    @ParameterizedTest(name = "statistics: {0}")
    @ValueSource(strings = {"after-swap", "before-swap"})
    void eachDayIsAnalyzedOnTheRightSideOfItsSwap(String when) throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("stats_" + when.replace('-', '_'));
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), DAYS, ROWS);
            Tables.grantApp(c, "public.ev");
        }
        try (Connection app = db.connectAsApp(); Statement st = app.createStatement()) {
            st.execute("INSERT INTO ev (id, at, massa) SELECT 9000000 + g, '2024-03-02 12:00', 7 FROM generate_series(1, 10) g");
        }
        Path job = Files.createTempFile("stats", ".yaml");
        Files.writeString(job, "name: st\ntable: ev\noperation: alter-column-type\ncolumn: massa\ntype: integer\n"
                + "workers: 1\nstatistics: " + when + "\n");

        CliRun plan = CliRun.run(db, "plan", job.toString());
        assertThat(plan.out()).contains("1 worker(s), statistics " + when);
        CliRun run = CliRun.run(db, "run", job.toString());
        assertThat(run.exitCode()).as(run.toString()).isEqualTo(ExitCodes.OK);

        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            for (int d = 1; d <= DAYS; d++) {
                String p = "ev_2024030" + d;
                // The ANALYZE's end as the server recorded it, and the swap as pgrewrite did (epoch ms, same host).
                double analyzed = analyzedAt(st, p);
                double swapStart = one(st, "SELECT (phases->'swap'->>0)::bigint FROM pgrewrite.partition_state WHERE partition_name = '" + p + "'");
                double swapEnd = one(st, "SELECT (phases->'swap'->>1)::bigint FROM pgrewrite.partition_state WHERE partition_name = '" + p + "'");
                if (when.equals("after-swap")) {
                    assertThat(analyzed).as(p + ": analyzed after its swap committed").isGreaterThan(swapEnd);
                    assertThat(one(st, "SELECT count(*) FROM pgrewrite.partition_state WHERE partition_name = '" + p
                            + "' AND statistics = 'done' AND analyze_ms IS NOT NULL")).as(p + " recorded done").isOne();
                } else {
                    assertThat(analyzed).as(p + ": its copy analyzed before the swap began").isLessThan(swapStart);
                }
                assertThat(one(st, "SELECT analyze_count FROM pg_stat_user_tables WHERE relname = '" + p + "'"))
                        .as(p + ": analyzed once, by pgrewrite").isOne();
                assertThat(one(st, "SELECT count(DISTINCT attname) FROM pg_stats WHERE tablename = '" + p + "' AND NOT inherited"))
                        .as(p + ": every column has statistics").isEqualTo(one(st, "SELECT count(*) FROM pg_attribute"
                                + " WHERE attrelid = '" + p + "'::regclass AND attnum > 0 AND NOT attisdropped"));
            }
            assertThat(one(st, "SELECT count(*) FROM pgrewrite.partition_state WHERE statistics = 'pending'")).isZero();
        }
    }

    /** pg_stat_user_tables.last_analyze in epoch ms; the statistics may reach the view a moment after the run (PostgreSQL 14). */
    static double analyzedAt(Statement st, String partition) throws Exception {
        for (int i = 0; ; i++) {
            st.execute("SELECT pg_stat_clear_snapshot()");
            try (ResultSet rs = st.executeQuery("SELECT extract(epoch FROM last_analyze) * 1000 FROM pg_stat_user_tables"
                    + " WHERE relname = '" + partition + "'")) {
                if (rs.next() && rs.getObject(1) != null) {
                    return rs.getDouble(1);
                }
            }
            assertThat(i).as(partition + " was never analyzed").isLessThan(50);
            Thread.sleep(100);
        }
    }
}
