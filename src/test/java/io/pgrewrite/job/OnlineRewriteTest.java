package io.pgrewrite.job;

import static io.pgrewrite.testsupport.Tables.one;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.LocalDate;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The application keeps writing and reading while a job rewrites every partition: inserts into today
 * and into an old day, updates and deletes in the partitions being copied, counts over the parent and
 * over one day. None of its statements fails, no row is lost or duplicated, every update survives,
 * and the quiet day's count never changes while its partition is swapped. The application is its own
 * role with only SELECT/INSERT/UPDATE/DELETE on the table ({@link TestDatabase#APP}); pgrewrite runs as
 * the table's owner, not a superuser.
 */
class OnlineRewriteTest {

    static final LocalDate START = LocalDate.of(2024, 3, 1);
    static final int DAYS = 5;
    static final int ROWS = 4000;

    @ParameterizedTest
    @ValueSource(strings = {"alter-column-type", "compact"})
    void applicationKeepsWorkingWhileEveryPartitionIsRewritten(String operation) throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("online");
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", "ev", START, DAYS, ROWS);
            Tables.grantApp(c, "public.ev");
        }
        Path job = Files.createTempFile("online", ".yaml");
        Files.writeString(job, "name: online\ntable: ev\noperation: " + operation + "\n"
                + (operation.equals("compact") ? "" : "column: massa\ntype: integer\n")
                + "workers: 2\ncopy:\n  chunk-rows: 500\n  pause: 20ms\n");

        Set<Long> expected = new HashSet<>();
        for (int d = 0; d < DAYS; d++) {
            for (int g = 1; g <= ROWS; g++) {
                expected.add(d * 1_000_000L + g);
            }
        }
        Map<Long, String> labels = new HashMap<>();
        ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
        AtomicBoolean done = new AtomicBoolean();
        AtomicLong writes = new AtomicLong();
        AtomicLong worstWriteMs = new AtomicLong();
        AtomicLong reads = new AtomicLong();

        Thread writer = new Thread(() -> {
            long next = 900_000;
            try (Connection c = db.connectAsApp();
                    PreparedStatement ins = c.prepareStatement("INSERT INTO ev (id, at, massa, label) VALUES (?, ?::timestamp, ?, 'new')");
                    PreparedStatement upd = c.prepareStatement("UPDATE ev SET label = ?, massa = massa + 1 WHERE id = ? AND at >= ?::timestamp AND at < ?::timestamp");
                    PreparedStatement del = c.prepareStatement("DELETE FROM ev WHERE id = ? AND at >= ?::timestamp AND at < ?::timestamp")) {
                int i = 0;
                while (!done.get()) {
                    long t0 = System.nanoTime();
                    // today (the last day) and an old day both get new rows; day 1 stays quiet
                    int day = (i % 2 == 0) ? DAYS - 1 : 0;
                    long id = day * 1_000_000L + next++;
                    ins.setLong(1, id);
                    ins.setString(2, START.plusDays(day) + " 12:00:00");
                    ins.setInt(3, 1000 + i % 100);
                    ins.executeUpdate();
                    synchronized (expected) {
                        expected.add(id);
                    }
                    int target = ThreadLocalRandom.current().nextBoolean() ? 2 : 3;
                    long victim = target * 1_000_000L + 1 + ThreadLocalRandom.current().nextInt(ROWS);
                    String label = "upd-" + i;
                    upd.setString(1, label);
                    upd.setLong(2, victim);
                    upd.setString(3, START.plusDays(target).toString());
                    upd.setString(4, START.plusDays(target + 1).toString());
                    if (upd.executeUpdate() == 1) {
                        synchronized (expected) {
                            labels.put(victim, label);
                        }
                    }
                    if (i % 5 == 0) {
                        long gone = 3 * 1_000_000L + 1 + ThreadLocalRandom.current().nextInt(ROWS);
                        del.setLong(1, gone);
                        del.setString(2, START.plusDays(3).toString());
                        del.setString(3, START.plusDays(4).toString());
                        del.executeUpdate();
                        synchronized (expected) {
                            expected.remove(gone);
                            labels.remove(gone);
                        }
                    }
                    worstWriteMs.accumulateAndGet((System.nanoTime() - t0) / 1_000_000, Math::max);
                    writes.incrementAndGet();
                    i++;
                    Thread.sleep(5);
                }
            } catch (Throwable e) {
                errors.add(e);
            }
        }, "app-writer");

        Thread reader = new Thread(() -> {
            try (Connection c = db.connectAsApp(); Statement st = c.createStatement()) {
                while (!done.get()) {
                    try (ResultSet rs = st.executeQuery("SELECT count(*) FROM ev")) {
                        rs.next();
                        assertThat(rs.getLong(1)).isGreaterThan(ROWS * (DAYS - 1L));
                    }
                    try (ResultSet rs = st.executeQuery("SELECT count(*) FROM ev WHERE at >= '2024-03-02' AND at < '2024-03-03'")) {
                        rs.next();
                        assertThat(rs.getLong(1)).as("the quiet day's count").isEqualTo(ROWS);
                    }
                    reads.incrementAndGet();
                }
            } catch (Throwable e) {
                errors.add(e);
            }
        }, "app-reader");

        writer.start();
        reader.start();
        CliRun run;
        try {
            Thread.sleep(300);
            run = CliRun.run(db, "run", job.toString());
        } finally {
            done.set(true);
            writer.join();
            reader.join();
        }
        assertThat(run.exitCode()).as(run.toString()).isEqualTo(ExitCodes.OK);
        assertThat(errors).as("application errors").isEmpty();
        assertThat(writes.get()).isGreaterThan(20);
        assertThat(reads.get()).isGreaterThan(20);
        System.out.printf("online %s: %d write rounds (worst %d ms), %d read rounds%n", operation, writes.get(),
                worstWriteMs.get(), reads.get());

        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            Set<Long> actual = new HashSet<>();
            Map<Long, String> actualLabels = new HashMap<>();
            try (ResultSet rs = st.executeQuery("SELECT id, label FROM ev")) {
                while (rs.next()) {
                    assertThat(actual.add(rs.getLong(1))).as("duplicate id %d", rs.getLong(1)).isTrue();
                    actualLabels.put(rs.getLong(1), rs.getString(2));
                }
            }
            assertThat(actual).isEqualTo(expected);
            labels.forEach((id, label) -> assertThat(actualLabels.get(id)).as("label of %d", id).isEqualTo(label));
            assertThat(one(st, "SELECT count(*) FROM ev WHERE massa IS NULL")).isZero();
            assertThat(one(st, "SELECT count(*) FROM ev_20240302 WHERE massa::int = ((id % 1000000) % 3000)")).isEqualTo(ROWS);
            List<String> leftovers = new java.util.ArrayList<>();
            try (ResultSet rs = st.executeQuery("SELECT relname FROM pg_class WHERE relname ~ '__(rw|old)$'"
                    + " UNION ALL SELECT tgname FROM pg_trigger WHERE tgname LIKE '%pgrewrite%'")) {
                while (rs.next()) {
                    leftovers.add(rs.getString(1));
                }
            }
            assertThat(leftovers).isEmpty();
        }
    }
}
