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
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The passages reference a small table of cameras. While the application keeps inserting passages
 * (of existing cameras, and of cameras it adds during the job), re-pointing and deleting them, pgrewrite
 * rewrites every partition: the foreign key survives on every partition, attached to the parent's and
 * valid, none of the application's statements fails, and no swap validated the key by a scan under the
 * parent's lock (each partition's copy carried the key, validated, before its swap).
 */
class ForeignKeyRewriteTest {

    static final LocalDate START = LocalDate.of(2024, 3, 1);
    static final int DAYS = 4;
    static final int ROWS = 4000;
    static final int CAMERAS = 20;

    static TestDatabase.Database withCameras(String name) throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase(name);
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE cameras (id int PRIMARY KEY, name text NOT NULL)");
            st.execute("INSERT INTO cameras SELECT g, 'camera ' || g FROM generate_series(1, " + CAMERAS + ") g");
            Tables.daily(c, "public", "ev", START, DAYS, ROWS);
            st.execute("ALTER TABLE ev ADD COLUMN cam int");
            st.execute("UPDATE ev SET cam = 1 + id % " + CAMERAS);
            st.execute("ALTER TABLE ev ADD CONSTRAINT ev_cam_fkey FOREIGN KEY (cam) REFERENCES cameras (id)");
            Tables.grantApp(c, "public.ev");
            Tables.grantApp(c, "public.cameras");
        }
        return db;
    }

    @ParameterizedTest
    @ValueSource(strings = {"compact", "alter-column-type", "alter-column-type of the key's column"})
    void theForeignKeySurvivesWhileTheApplicationWrites(String operation) throws Exception {
        TestDatabase.Database db = withCameras("fk_online");
        Path job = Files.createTempFile("fk", ".yaml");
        Files.writeString(job, "name: fk\ntable: ev\noperation: " + operation.replace(" of the key's column", "") + "\n"
                + (operation.equals("compact") ? "" : operation.equals("alter-column-type") ? "column: massa\ntype: integer\n"
                        : "column: cam\ntype: bigint\n")
                + "workers: 2\ncopy:\n  chunk-rows: 500\n  pause: 20ms\n");
        boolean retyped = operation.endsWith("column");
        operation = operation.replace(" of the key's column", "");

        ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
        AtomicBoolean done = new AtomicBoolean();
        AtomicLong writes = new AtomicLong();
        Thread writer = new Thread(() -> {
            try (Connection c = db.connectAsApp();
                    PreparedStatement cam = c.prepareStatement("INSERT INTO cameras VALUES (?, 'added during the job')");
                    PreparedStatement ins = c.prepareStatement("INSERT INTO ev (id, at, massa, label, cam) VALUES (?, ?::timestamp, 1, 'new', ?)");
                    PreparedStatement upd = c.prepareStatement("UPDATE ev SET cam = ? WHERE id = ? AND at >= ?::timestamp AND at < ?::timestamp");
                    PreparedStatement del = c.prepareStatement("DELETE FROM ev WHERE id = ? AND at >= ?::timestamp AND at < ?::timestamp")) {
                int i = 0;
                int newest = CAMERAS;
                while (!done.get()) {
                    if (i % 10 == 0) {
                        cam.setInt(1, ++newest);
                        cam.executeUpdate();
                    }
                    int day = i % DAYS;
                    ins.setLong(1, day * 1_000_000L + 900_000 + i);
                    ins.setString(2, START.plusDays(day) + " 12:00:00");
                    ins.setInt(3, i % 2 == 0 ? newest : 1 + ThreadLocalRandom.current().nextInt(CAMERAS));
                    ins.executeUpdate();
                    int target = 1 + ThreadLocalRandom.current().nextInt(DAYS - 1);
                    upd.setInt(1, newest);
                    upd.setLong(2, target * 1_000_000L + 1 + ThreadLocalRandom.current().nextInt(ROWS));
                    upd.setString(3, START.plusDays(target).toString());
                    upd.setString(4, START.plusDays(target + 1).toString());
                    upd.executeUpdate();
                    if (i % 5 == 0) {
                        del.setLong(1, target * 1_000_000L + 1 + ThreadLocalRandom.current().nextInt(ROWS));
                        del.setString(2, START.plusDays(target).toString());
                        del.setString(3, START.plusDays(target + 1).toString());
                        del.executeUpdate();
                    }
                    writes.incrementAndGet();
                    i++;
                    Thread.sleep(5);
                }
            } catch (Throwable e) {
                errors.add(e);
            }
        }, "app-writer");
        writer.start();
        CliRun run;
        List<String> said = new java.util.concurrent.CopyOnWriteArrayList<>();
        try {
            Thread.sleep(300);
            run = listening(said, () -> CliRun.run(db, "run", job.toString()));
        } finally {
            done.set(true);
            writer.join();
        }
        assertThat(run.exitCode()).as(run.toString()).isEqualTo(ExitCodes.OK);
        assertThat(errors).as("application errors").isEmpty();
        assertThat(writes.get()).isGreaterThan(20);
        for (int d = 0; d < DAYS; d++) {
            String p = "ev_" + START.plusDays(d).toString().replace("-", "");
            assertThat(said).as("the key validated on the copy of " + p + ", before its swap")
                    .anyMatch(l -> l.startsWith(p + ": foreign key ev_cam_fkey added to " + p + "__rw and validated there"));
        }

        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM pg_attribute WHERE attrelid = 'ev'::regclass AND attname = 'cam'"
                    + " AND atttypid = " + (retyped ? "'bigint'" : "'integer'") + "::regtype")).isEqualTo(1);
            assertThat(foreignKeys(st)).containsExactly(
                    "ev ev_cam_fkey FOREIGN KEY (cam) REFERENCES cameras(id) valid top",
                    "ev_20240301 ev_cam_fkey FOREIGN KEY (cam) REFERENCES cameras(id) valid attached",
                    "ev_20240302 ev_cam_fkey FOREIGN KEY (cam) REFERENCES cameras(id) valid attached",
                    "ev_20240303 ev_cam_fkey FOREIGN KEY (cam) REFERENCES cameras(id) valid attached",
                    "ev_20240304 ev_cam_fkey FOREIGN KEY (cam) REFERENCES cameras(id) valid attached");
            assertThat(one(st, "SELECT count(*) FROM ev LEFT JOIN cameras k ON k.id = ev.cam WHERE ev.cam IS NOT NULL AND k.id IS NULL")).isZero();
            assertThat(one(st, "SELECT count(*) FROM pgrewrite.partition_state WHERE state = 'retired'")).isEqualTo(DAYS);
            ResultSet hold = st.executeQuery("SELECT max(lock_hold_ms) FROM pgrewrite.partition_state");
            hold.next();
            double worst = hold.getDouble(1);
            System.out.printf("fk %s: %d write rounds, longest swap lock hold %.1f ms%n", operation, writes.get(), worst);
            // and the key still refuses what it refused before
            assertThat(one(st, "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'cameras'::regclass")).isEqualTo(2);
        }
        try (Connection c = db.connectAsApp(); Statement st = c.createStatement()) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> st.execute(
                    "INSERT INTO ev (id, at, label, cam) VALUES (7, '2024-03-02 01:00', 'x', 999999)"))
                    .hasMessageContaining("ev_cam_fkey");
        }
    }

    /**
     * What pgrewrite logged while {@code body} ran: the lines its log file (logback.xml's "file" appender,
     * .pgrewrite/pgrewrite.log in the working directory) gained meanwhile.
     */
    static <T> T listening(List<String> said, java.util.concurrent.Callable<T> body) throws Exception {
        Path log = Path.of(System.getenv().getOrDefault("PGREWRITE_LOG_FILE", ".pgrewrite/pgrewrite.log"));
        long before = Files.exists(log) ? Files.size(log) : 0;
        try {
            return body.call();
        } finally {
            byte[] all = Files.readAllBytes(log);
            for (String line : new String(all, (int) Math.min(before, all.length), (int) Math.max(0, all.length - before),
                    java.nio.charset.StandardCharsets.UTF_8).split("\n")) {
                int at = line.indexOf("ForeignKeyCopy - ");
                if (at >= 0) {
                    said.add(line.substring(at + "ForeignKeyCopy - ".length()));
                }
            }
        }
    }

    /** Every foreign key of the tree: table, name, definition, valid or not, the parent's or attached to it. */
    static List<String> foreignKeys(Statement st) throws Exception {
        List<String> keys = new ArrayList<>();
        try (ResultSet rs = st.executeQuery("SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)"
                + " || CASE WHEN convalidated THEN ' valid' ELSE ' not valid' END"
                + " || CASE WHEN conparentid = 0 THEN ' top' ELSE ' attached' END"
                + " FROM pg_constraint WHERE contype = 'f' AND connamespace = 'public'::regnamespace ORDER BY 1")) {
            while (rs.next()) {
                keys.add(rs.getString(1));
            }
        }
        return keys;
    }

    /**
     * A foreign key added to the parent while the job runs (after the copies were made) is built on every
     * copy before its swap: ATTACH never validates it under the parent's lock.
     */
    @Test
    void aForeignKeyAddedToTheParentDuringTheJobIsBuiltOnTheCopiesFirst() throws Exception {
        TestDatabase.Database db = withCameras("fk_drift");
        Path job = Files.createTempFile("fkdrift", ".yaml");
        Files.writeString(job, "name: fkdrift\ntable: ev\noperation: compact\nswap:\n  lock-timeout: 50ms\n  max-attempts: 2\n");
        try (Connection holder = db.connect(); Statement st = holder.createStatement()) {
            holder.setAutoCommit(false);
            st.executeQuery("SELECT count(*) FROM ev_20240302").close(); // a long report: the swap of day 2 fails
            CliRun failed = CliRun.run(db, "run", job.toString());
            assertThat(failed.exitCode()).as(failed.toString()).isEqualTo(ExitCodes.JOB_FAILED);
            holder.rollback();
        }
        // A deploy adds a second foreign key while day 2's copy waits for its swap.
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM pg_constraint WHERE conrelid = 'ev_20240302__rw'::regclass AND contype = 'f'")).isEqualTo(1);
            st.execute("CREATE TABLE labels (label text PRIMARY KEY)");
            st.execute("INSERT INTO labels SELECT DISTINCT label FROM ev");
            st.execute("ALTER TABLE ev ADD CONSTRAINT ev_label_fkey FOREIGN KEY (label) REFERENCES labels");
        }
        List<String> said = new java.util.concurrent.CopyOnWriteArrayList<>();
        CliRun again = listening(said, () -> CliRun.run(db, "run", job.toString()));
        assertThat(again.exitCode()).as(again.toString()).isEqualTo(ExitCodes.OK);
        assertThat(said).anyMatch(l -> l.startsWith("ev_20240302: foreign key ev_label_fkey added to ev_20240302__rw and validated there"));
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(foreignKeys(st)).filteredOn(k -> k.startsWith("ev_20240302 ")).containsExactly(
                    "ev_20240302 ev_cam_fkey FOREIGN KEY (cam) REFERENCES cameras(id) valid attached",
                    "ev_20240302 ev_label_fkey FOREIGN KEY (label) REFERENCES labels(label) valid attached");
        }
    }

    /** Killed (kill -9) after the key was added to the first copy NOT VALID, before it was validated: restart validates it. */
    @Test
    void aRestartAfterAKillBetweenAddingAndValidatingTheKeyValidatesIt() throws Exception {
        TestDatabase.Database db = withCameras("fk_kill");
        Path job = Files.createTempFile("fkkill", ".yaml");
        Files.writeString(job, "name: fkkill\ntable: ev\noperation: alter-column-type\ncolumn: cam\ntype: bigint\nworkers: 1\n");
        long execution = killAt(db, job, "foreign-keys:added");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM pg_constraint WHERE conrelid = 'ev_20240301__rw'::regclass"
                    + " AND conname = 'ev_cam_fkey' AND NOT convalidated")).as("the key NOT VALID on the copy").isOne();
        }
        CliRun restart = CliRun.run(db, "restart", String.valueOf(execution));
        assertThat(restart.exitCode()).as(restart.toString()).isEqualTo(ExitCodes.OK);
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(foreignKeys(st)).containsExactly(
                    "ev ev_cam_fkey FOREIGN KEY (cam) REFERENCES cameras(id) valid top",
                    "ev_20240301 ev_cam_fkey FOREIGN KEY (cam) REFERENCES cameras(id) valid attached",
                    "ev_20240302 ev_cam_fkey FOREIGN KEY (cam) REFERENCES cameras(id) valid attached",
                    "ev_20240303 ev_cam_fkey FOREIGN KEY (cam) REFERENCES cameras(id) valid attached",
                    "ev_20240304 ev_cam_fkey FOREIGN KEY (cam) REFERENCES cameras(id) valid attached");
            assertThat(one(st, "SELECT count(*) FROM pg_attribute WHERE attrelid = 'ev'::regclass AND attname = 'cam'"
                    + " AND atttypid = 'bigint'::regtype")).isOne();
        }
    }

    /**
     * Killed right after the first partition was swapped in and retired (it carries the key on the new column), the job
     * is abandoned with --cleanup: no key pgrewrite built stays, and the catalog is what it was before.
     */
    @Test
    void abandonCleanupRemovesTheKeysItBuilt() throws Exception {
        TestDatabase.Database db = withCameras("fk_abandon");
        List<String> before;
        try (Connection c = db.connect()) {
            before = io.pgrewrite.testsupport.CatalogSnapshot.full(c, "ev");
        }
        Path job = Files.createTempFile("fkabandon", ".yaml");
        Files.writeString(job, "name: fkabandon\ntable: ev\noperation: alter-column-type\ncolumn: cam\ntype: bigint\nworkers: 1\n");
        // (killed at after-swap instead, before retire: the story below)
        long execution = killAt(db, job, "retire:committed");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM pg_constraint WHERE conrelid = 'ev_20240301'::regclass AND conname LIKE 'pgrw_fk_%'"))
                    .as("the swapped-in partition carries the key on the new column").isOne();
        }
        CliRun cleanup = CliRun.run(db, "abandon", String.valueOf(execution), "--cleanup");
        assertThat(cleanup.exitCode()).as(cleanup.toString()).isEqualTo(ExitCodes.OK);
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM pg_constraint WHERE conname LIKE 'pgrw_fk_%'")).isZero();
            assertThat(io.pgrewrite.testsupport.CatalogSnapshot.full(c, "ev")).containsExactlyElementsOf(before);
            assertThat(one(st, "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'cameras'::regclass")).isEqualTo(2);
        }
    }

    /**
     * The first partition's copy carries the key, validated, and waits for its swap (the process is killed
     * there). The application, as its own role, deletes every passage of camera 5 and then camera 5, and
     * re-points the passages of camera 7 to camera 6 and then deletes camera 7: its statements succeed,
     * although the copy still holds the old rows (the capture trigger deletes them from the copy too).
     * With ON DELETE CASCADE / SET NULL keys deleting the cameras directly succeeds as well. Restart
     * completes the job; the rows are those the application left.
     */
    @ParameterizedTest
    @ValueSource(strings = {"compact", "alter-column-type", "compact ON DELETE CASCADE", "compact ON DELETE SET NULL"})
    void theApplicationDeletesAReferencedRowWhileACopyCarriesTheKey(String operation) throws Exception {
        TestDatabase.Database db = withCameras("fk_window");
        String action = operation.startsWith("compact ") ? operation.substring("compact ".length()) : null;
        if (action != null) {
            try (Connection c = db.connect(); Statement st = c.createStatement()) {
                st.execute("ALTER TABLE ev DROP CONSTRAINT ev_cam_fkey");
                st.execute("ALTER TABLE ev ADD CONSTRAINT ev_cam_fkey FOREIGN KEY (cam) REFERENCES cameras (id) " + action);
            }
        }
        Path job = Files.createTempFile("fkwindow", ".yaml");
        Files.writeString(job, "name: fkwindow\ntable: ev\noperation: " + (action == null ? operation : "compact") + "\n"
                + (operation.equals("alter-column-type") ? "column: cam\ntype: bigint\n" : "") + "workers: 1\n");
        long execution = killAt(db, job, "foreign-keys:validated");
        String rows;
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM pg_constraint WHERE conrelid = 'ev_20240301__rw'::regclass AND contype = 'f'"
                    + " AND convalidated")).as("the copy carries the key, valid").isEqualTo(operation.equals("alter-column-type") ? 2 : 1);
            assertThat(one(st, "SELECT count(*) FROM ev_20240301__rw WHERE cam IN (5, 7)")).as("the copy has rows of cameras 5 and 7")
                    .isGreaterThan(0);
        }
        try (Connection app = db.connectAsApp(); Statement st = app.createStatement()) {
            if (action == null) {
                app.setAutoCommit(false);
                st.execute("DELETE FROM ev WHERE cam = 5");
                st.execute("DELETE FROM cameras WHERE id = 5");
                app.commit();
                st.execute("UPDATE ev SET cam = 6 WHERE cam = 7");
                st.execute("DELETE FROM cameras WHERE id = 7");
                app.commit();
            } else {
                st.execute("DELETE FROM cameras WHERE id IN (5, 7)");
            }
            rows = rows(st);
        }
        CliRun restart = CliRun.run(db, "restart", String.valueOf(execution));
        assertThat(restart.exitCode()).as(restart.toString()).isEqualTo(ExitCodes.OK);
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(rows(st)).isEqualTo(rows);
            assertThat(one(st, "SELECT count(*) FROM ev WHERE cam IN (5, 7)")).isZero();
            assertThat(foreignKeys(st)).hasSize(DAYS + 1).allMatch(k -> k.contains(" valid "));
            assertThat(one(st, "SELECT count(*) FROM pgrewrite.partition_state WHERE state = 'retired'")).isEqualTo(DAYS);
        }
    }

    /**
     * Killed right after the first swap committed, before retire: the old partition, detached, still holds the
     * rows of camera 5 the application then deletes from the table, before it deletes camera 5. That succeeds,
     * and so it does when the definition keeps the old partitions (retire: keep).
     */
    @ParameterizedTest
    @ValueSource(strings = {"drop", "keep"})
    void theApplicationDeletesAReferencedRowWhileTheOldPartitionWaitsForRetire(String retire) throws Exception {
        TestDatabase.Database db = withCameras("fk_old");
        Path job = Files.createTempFile("fkold", ".yaml");
        Files.writeString(job, "name: fkold\ntable: ev\noperation: compact\nworkers: 1\n" + (retire.equals("keep") ? "retire: keep\n" : ""));
        long execution = killAt(db, job, "after-swap");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM ev_20240301__old WHERE cam = 5")).as("the old partition has rows of camera 5").isGreaterThan(0);
        }
        try (Connection app = db.connectAsApp(); Statement st = app.createStatement()) {
            st.execute("DELETE FROM ev WHERE cam = 5");
            st.execute("DELETE FROM cameras WHERE id = 5");
        }
        CliRun restart = CliRun.run(db, "restart", String.valueOf(execution));
        assertThat(restart.exitCode()).as(restart.toString()).isEqualTo(ExitCodes.OK);
        try (Connection app = db.connectAsApp(); Statement st = app.createStatement()) {
            st.execute("DELETE FROM ev WHERE cam = 6");
            st.execute("DELETE FROM cameras WHERE id = 6");
        }
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(foreignKeys(st)).hasSize(DAYS + 1).allMatch(k -> k.contains(" valid "));
        }
    }

    private static String rows(Statement st) throws Exception {
        try (ResultSet rs = st.executeQuery("SELECT count(*) || ' ' || md5(string_agg(concat_ws(',', id, at, cam, label), ';'"
                + " ORDER BY id, at)) FROM ev")) {
            rs.next();
            return rs.getString(1);
        }
    }

    /**
     * Killed after the first partition's swap committed, before its retire: {@code ev_20240301__old} still carries
     * the capture trigger and the keys; {@code --cleanup --drop-old} drops it with them, and the catalog is what it was.
     */
    @Test
    void abandonCleanupBetweenSwapAndRetireRemovesTheKeysItBuilt() throws Exception {
        TestDatabase.Database db = withCameras("fk_abandon_swapped");
        List<String> before;
        try (Connection c = db.connect()) {
            before = io.pgrewrite.testsupport.CatalogSnapshot.full(c, "ev");
        }
        Path job = Files.createTempFile("fkabandon", ".yaml");
        Files.writeString(job, "name: fkabandon\ntable: ev\noperation: alter-column-type\ncolumn: cam\ntype: bigint\nworkers: 1\n");
        long execution = killAt(db, job, "after-swap");
        CliRun cleanup = CliRun.run(db, "abandon", String.valueOf(execution), "--cleanup", "--drop-old");
        assertThat(cleanup.exitCode()).as(cleanup.toString()).isEqualTo(ExitCodes.OK);
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM pg_constraint WHERE conname LIKE 'pgrw_fk_%'")).isZero();
            assertThat(one(st, "SELECT count(*) FROM pg_class WHERE relname ~ '__(rw|old)$'")).isZero();
            assertThat(io.pgrewrite.testsupport.CatalogSnapshot.full(c, "ev")).containsExactlyElementsOf(before);
            assertThat(one(st, "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'cameras'::regclass")).isEqualTo(2);
        }
    }

    private static long killAt(TestDatabase.Database db, Path job, String point) throws Exception {
        try (io.pgrewrite.testsupport.JvmProcess p = io.pgrewrite.testsupport.JvmProcess.start("fk",
                List.of("-D" + FaultPoints.PROPERTY + "=" + point), db, "run", job.toString())) {
            p.await(l -> l.startsWith("PGREWRITE-PAUSED " + point + " "), 180);
            p.kill();
        }
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            return one(st, "SELECT max(job_execution_id) FROM pgrewrite.batch_job_execution e"
                    + " JOIN pgrewrite.batch_job_instance i USING (job_instance_id) WHERE i.job_name = 'rewrite'");
        }
    }
}
