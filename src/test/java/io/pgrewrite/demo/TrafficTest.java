package io.pgrewrite.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintStream;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * An operator rehearses a change on a clone with {@code pgrewrite demo traffic} running: when the
 * change holds the table, the simulated application waits and says so (a long gap between writes, a
 * high max latency), without errors and without losing a row it was told was written. The simulated
 * application connects as its own DML-only role.
 */
class TrafficTest {

    private static TestDatabase.Database db;

    @BeforeAll
    static void demoTable() throws SQLException {
        db = TestDatabase.newDatabase("traffic");
        DemoTable.create(db.dataSource(), "public", "passage", 2, 500, LocalDate.now(ZoneOffset.UTC));
        try (Connection c = db.connect()) {
            Tables.grantApp(c, "public.passage");
        }
    }

    @Test
    void aLockHeldForASecondShowsUpAsAStallNotAsAnError() throws Exception {
        long before = rows();
        Traffic traffic = new Traffic(settings(Duration.ofSeconds(4)), db::connectAsApp);
        CompletableFuture<TrafficResult> run = start(traffic);

        Thread.sleep(1000);
        holdTheTable(1200);
        TrafficResult r = run.get(30, TimeUnit.SECONDS);

        assertThat(r.errors()).isZero();
        assertThat(r.longestWriteGapMs()).isBetween(1100.0, 4000.0);
        assertThat(r.longestWriteGapStartS()).isBetween(0.5, 2.0);
        Latencies.Summary inserts = r.kinds().get(0);
        assertThat(inserts.kind()).isEqualTo("insert");
        assertThat(inserts.maxMs()).isGreaterThan(1000);  // the insert due when the lock was taken
        assertThat(inserts.p50Ms()).isLessThan(1000);
        assertThat(r.rowsInserted()).isGreaterThan(40);   // 20 a second for 4 s, some late
        assertThat(rows()).isEqualTo(before + r.rowsInserted());
        assertThat(r.toJson()).contains("\"longest_write_gap_ms\": ").contains("\"count_table\": {");
    }

    @Test
    void stoppedWhileWaitingItCountsTheWaitSoFarAndEndsAtOnce() throws Exception {
        Traffic traffic = new Traffic(settings(Duration.ofSeconds(60)), db::connectAsApp);
        try (Connection lock = db.connect(); Statement st = lock.createStatement()) {
            lock.setAutoCommit(false);
            CompletableFuture<TrafficResult> run = start(traffic);
            Thread.sleep(1000);
            st.execute("LOCK TABLE public.passage IN ACCESS EXCLUSIVE MODE");
            Thread.sleep(1500);
            traffic.stop();
            TrafficResult r = run.get(30, TimeUnit.SECONDS);
            lock.rollback();

            assertThat(r.seconds()).isLessThan(10);
            Latencies.Summary inserts = r.kinds().get(0);
            // The insert stuck on the lock, and those that fell due behind it, are waiting still.
            assertThat(inserts.unfinished()).isGreaterThan(10);
            assertThat(inserts.maxMs()).isGreaterThan(1000);
            assertThat(r.longestWriteGapMs()).isGreaterThan(1000);
            assertThat(r.errors()).isZero();  // cancelled at the end by the run itself: not the application's error
        }
    }

    /**
     * {@code demo traffic} as a rehearsal would run it: pgrewrite's own start-up (migrations) as the
     * table's owner, the simulated application as its DML-only role. A role that does not exist fails
     * the run: the workload really connects as the role given (the embedded server trusts local
     * connections, so a wrong password would not show it).
     */
    @Test
    void theCommandWritesAsTheApplicationsRole() {
        CliRun ok = CliRun.run(db, "demo", "traffic", "--seconds", "2", "--count-every", "0",
                "--app-username", TestDatabase.APP, "--app-password", TestDatabase.APP_PASSWORD);
        assertThat(ok.exitCode()).as(ok.toString()).isEqualTo(0);
        assertThat(ok.out()).contains("traffic: started");
        CliRun wrong = CliRun.run(db, "demo", "traffic", "--seconds", "1", "--app-username", "nobody_of_this_name");
        assertThat(wrong.exitCode()).as(wrong.toString()).isNotEqualTo(0);
    }

    @Test
    void percentilesAreNearestRank() {
        long[] sorted = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
        assertThat(Latencies.percentile(sorted, 0.5)).isEqualTo(5);
        assertThat(Latencies.percentile(sorted, 0.99)).isEqualTo(10);
        assertThat(Latencies.percentile(new long[] {42}, 0.99)).isEqualTo(42);
        assertThat(Latencies.percentile(new long[0], 0.5)).isZero();
    }

    private static Traffic.Settings settings(Duration duration) {
        return new Traffic.Settings("public", "passage", duration, 20, 1, 5, Duration.ofSeconds(1));
    }

    private static CompletableFuture<TrafficResult> start(Traffic traffic) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return traffic.run(new PrintStream(PrintStream.nullOutputStream()));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    private static void holdTheTable(long millis) throws SQLException, InterruptedException {
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            c.setAutoCommit(false);
            st.execute("LOCK TABLE public.passage IN ACCESS EXCLUSIVE MODE");
            Thread.sleep(millis);
            c.commit();
        }
    }

    private static long rows() throws SQLException {
        try (Connection c = db.connect(); Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("SELECT count(*) FROM public.passage")) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
