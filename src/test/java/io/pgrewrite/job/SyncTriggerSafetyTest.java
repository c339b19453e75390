package io.pgrewrite.job;

import static io.pgrewrite.testsupport.Tables.one;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.LocalDate;
import java.util.List;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.JvmProcess;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;

/**
 * The sync trigger runs as pgrewrite's role for every row the application writes, and must fire after the
 * application's own BEFORE triggers. Two setups break that, and plan refuses each, naming the object and
 * what to do, before anything changes; expand checks again right before it creates the trigger:
 * <ul>
 *   <li>the application's role (or every role: PostgreSQL 14's default on {@code public}) can create functions
 *       in a schema on pgrewrite's search_path, so it could plant an exact-type overload of a function in the
 *       expression ({@code public.lower(varchar)} beats {@code pg_catalog.lower(text)}) and run it as pgrewrite's
 *       role;</li>
 *   <li>a BEFORE trigger whose name sorts after {@code ~pgrewrite_sync} ({@code ü_…}, {@code ~~…}) fires after it,
 *       so what it does to the column never reaches the new column.</li>
 * </ul>
 * Runs on PostgreSQL 14 too (the pom's pg14 execution).
 */
class SyncTriggerSafetyTest {

    static final String JOB = "name: safety\ntable: ev\noperation: alter-column-type\ncolumn: massa\ntype: integer\nworkers: 1\n";

    static TestDatabase.Database table(String name) throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase(name);
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), 2, 50);
            Tables.grantApp(c, "public.ev");
        }
        return db;
    }

    static void asSuperuser(TestDatabase.Database db, String statement) throws Exception {
        try (Connection c = db.connectAsSuperuser(); Statement st = c.createStatement()) {
            st.execute(statement);
        }
    }

    static Path job(String yaml) throws Exception {
        Path f = Files.createTempFile("safety", ".yaml");
        Files.writeString(f, yaml);
        return f;
    }

    @Test
    void planRefusesWhileEveryRoleCanCreateInPublicAndPassesAfterTheRevoke() throws Exception {
        TestDatabase.Database db = table("safety_public");
        asSuperuser(db, "GRANT CREATE ON SCHEMA public TO PUBLIC"); // PostgreSQL 14's default

        CliRun refused = CliRun.run(db, "plan", job(JOB).toString());
        assertThat(refused.exitCode()).as(refused.toString()).isEqualTo(ExitCodes.PRECONDITION);
        assertThat(refused.toString()).contains("schema public (CREATE granted to PUBLIC (every role))",
                "pgrewrite's role", TestDatabase.OWNER, "REVOKE CREATE ON SCHEMA public FROM PUBLIC", "Nothing was changed");
        CliRun backfill = CliRun.run(db, "plan", job("name: safety\ntable: ev\noperation: backfill\nset:\n  massa: massa + 1\n").toString());
        assertThat(backfill.exitCode()).as("the copy evaluates set: as pgrewrite's role too: " + backfill)
                .isEqualTo(ExitCodes.PRECONDITION);
        CliRun compact = CliRun.run(db, "plan", job("name: safety\ntable: ev\noperation: compact\n").toString());
        assertThat(compact.exitCode()).as("verify calls hash functions by name as pgrewrite's role: " + compact)
                .isEqualTo(ExitCodes.PRECONDITION);

        asSuperuser(db, "REVOKE CREATE ON SCHEMA public FROM PUBLIC");
        CliRun passes = CliRun.run(db, "plan", job(JOB).toString());
        assertThat(passes.exitCode()).as(passes.toString()).isEqualTo(ExitCodes.OK);
    }

    @Test
    void planNamesTheApplicationsRoleWhenItAloneMayCreate() throws Exception {
        TestDatabase.Database db = table("safety_app");
        asSuperuser(db, "GRANT CREATE ON SCHEMA public TO " + TestDatabase.APP);

        CliRun refused = CliRun.run(db, "plan", job(JOB).toString());
        assertThat(refused.exitCode()).as(refused.toString()).isEqualTo(ExitCodes.PRECONDITION);
        assertThat(refused.toString()).contains("schema public (CREATE granted to " + TestDatabase.APP + ")");

        asSuperuser(db, "REVOKE CREATE ON SCHEMA public FROM " + TestDatabase.APP);
        CliRun passes = CliRun.run(db, "plan", job(JOB).toString());
        assertThat(passes.exitCode()).as(passes.toString()).isEqualTo(ExitCodes.OK);
    }

    /**
     * CREATE is granted after plan passed, while expand is under way: expand refuses before it creates the function
     * (its transaction rolls back: no shadow column, no trigger); after the revoke, restart completes the job.
     */
    @Test
    void expandChecksAgainRightBeforeItCreatesTheTrigger() throws Exception {
        TestDatabase.Database db = table("safety_expand");
        long execution;
        try (JvmProcess run = JvmProcess.start("safety", List.of("-D" + FaultPoints.ANNOUNCE + "=expand:column-added",
                "-Dpgrewrite.test.announce-ms=2500"), db, "run", job(JOB + "swap:\n  lock-timeout: 2s\n").toString())) {
            // (a lock-timeout of 2 s lets expand's transaction idle 10 s before the server ends it)
            run.await(l -> l.startsWith("PGREWRITE-REACHED expand:column-added"), 120);
            asSuperuser(db, "GRANT CREATE ON SCHEMA public TO PUBLIC");
            int exit = run.waitFor(120);
            assertThat(exit).as(run.output()).isEqualTo(ExitCodes.JOB_FAILED);
            assertThat(run.output()).contains("checked by expand", "REVOKE CREATE ON SCHEMA public FROM PUBLIC");
        }
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM pg_attribute WHERE attrelid = 'ev'::regclass AND attname LIKE 'massa_%'"
                    + " AND NOT attisdropped")).as("no shadow column").isZero();
            assertThat(one(st, "SELECT count(*) FROM pg_trigger WHERE tgname LIKE '%pgrewrite_sync'")).isZero();
            execution = CrashWindowsTest.lastExecution(db);
        }
        asSuperuser(db, "REVOKE CREATE ON SCHEMA public FROM PUBLIC");
        CliRun restart = CliRun.run(db, "restart", String.valueOf(execution));
        assertThat(restart.exitCode()).as(restart.toString()).isEqualTo(ExitCodes.OK);
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM pg_attribute WHERE attrelid = 'ev'::regclass AND attname = 'massa'"
                    + " AND atttypid = 'integer'::regtype")).isOne();
        }
    }

    /**
     * The application's trigger that rounds massa to tens is called "ü_round_massa" (on the table) or "~~round" (on one
     * partition): both sort after "~pgrewrite_sync" and would fire after it. Plan refuses and names them; renamed, the
     * job runs, and a row the application writes into a swapped partition gets the rounded value.
     */
    @Test
    void aTriggerThatWouldFireAfterTheSyncTriggerIsRefusedUntilRenamed() throws Exception {
        TestDatabase.Database db = table("safety_order");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            st.execute(SyncTriggerOrderTest.ROUND);
            st.execute("CREATE TRIGGER \"ü_round_massa\" BEFORE INSERT OR UPDATE ON ev FOR EACH ROW EXECUTE FUNCTION round_massa()");
            st.execute("CREATE TRIGGER \"~~round\" BEFORE UPDATE ON ev_20240302 FOR EACH ROW EXECUTE FUNCTION round_massa()");
            // an AFTER trigger and one that sorts before it are no concern
            st.execute("CREATE TRIGGER \"~~after\" AFTER INSERT ON ev FOR EACH ROW EXECUTE FUNCTION round_massa()");
        }
        CliRun refused = CliRun.run(db, "plan", job(JOB).toString());
        assertThat(refused.exitCode()).as(refused.toString()).isEqualTo(ExitCodes.PRECONDITION);
        assertThat(refused.toString()).contains("\"~~round\" on ev_20240302", "\"ü_round_massa\" on ev,", "\"ü_round_massa\" on ev_20240301",
                "sort after ~pgrewrite_sync", "Rename them").doesNotContain("~~after");
        CliRun run = CliRun.run(db, "run", job(JOB).toString());
        assertThat(run.exitCode()).as(run.toString()).isEqualTo(ExitCodes.PRECONDITION);

        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            st.execute("ALTER TRIGGER \"ü_round_massa\" ON ev RENAME TO round_massa_ü");
            if (c.getMetaData().getDatabaseMajorVersion() < 15) { // 14 does not rename the partitions' clones
                st.execute("ALTER TRIGGER \"ü_round_massa\" ON ev_20240301 RENAME TO round_massa_ü");
                st.execute("ALTER TRIGGER \"ü_round_massa\" ON ev_20240302 RENAME TO round_massa_ü");
            }
            st.execute("DROP TRIGGER \"~~round\" ON ev_20240302");
        }
        String swapped;
        try (JvmProcess job = JvmProcess.start("safety-order", List.of("-D" + FaultPoints.PROPERTY + "=after-swap"), db,
                "run", job(JOB).toString())) {
            swapped = job.await(l -> l.startsWith("PGREWRITE-PAUSED after-swap"), 120).replaceAll(".* ", "");
            try (Connection app = db.connectAsApp(); Statement st = app.createStatement()) {
                String day = swapped.replaceAll("ev_(\\d{4})(\\d{2})(\\d{2})", "$1-$2-$3");
                st.execute("INSERT INTO ev (id, at, massa) VALUES (42424242, '" + day + " 12:00', 1234)");
            }
        }
        CliRun restart = CliRun.run(db, "restart", String.valueOf(CrashWindowsTest.lastExecution(db)));
        assertThat(restart.exitCode()).as(restart.toString()).isEqualTo(ExitCodes.OK);
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT massa FROM ev WHERE id = 42424242")).as("inserted into " + swapped).isEqualTo(1230);
        }
    }
}
