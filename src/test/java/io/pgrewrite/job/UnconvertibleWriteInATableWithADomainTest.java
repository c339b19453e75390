package io.pgrewrite.job;

import static io.pgrewrite.testsupport.Tables.one;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.LocalDate;
import java.time.format.DateTimeFormatter;
import java.util.List;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.testsupport.CatalogSnapshot;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.JvmProcess;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;

/**
 * The table has a column of a domain that refuses NULL ({@code CREATE DOMAIN label_t AS text NOT NULL CHECK
 * (VALUE <> '')}). A NOT NULL text column becomes integer; while contract prepares SET NOT NULL the
 * application, as its own DML-only role, inserts a row whose value is 'x'. Contract refuses, naming the row
 * and why it does not convert (the cast's error, not the domain's). The operator fixes the row; restart looks
 * it up again by its key, finds it converts, and contracts: the table is the one the blocking ALTER gives.
 * (Looked up through {@code jsonb_populate_record(NULL::ev, key)} the other columns were cast NULL to the
 * domain, which raised for every row, so contract refused for ever.)
 */
class UnconvertibleWriteInATableWithADomainTest {

    static final LocalDate START = LocalDate.of(2024, 3, 1);
    static final int DAYS = 2;
    static final int ROWS = 200;

    @Test
    void theFixedRowIsFoundAgainAndContractGoesOn() throws Exception {
        TestDatabase.Database template = TestDatabase.newDatabase("domain_window");
        try (Connection c = template.connect(); Statement st = c.createStatement()) {
            Tables.daily(c, "public", "ev", START, DAYS, ROWS);
            st.execute("CREATE DOMAIN label_t AS text NOT NULL CHECK (VALUE <> '')");
            st.execute("ALTER TABLE ev ALTER COLUMN massa TYPE text, ALTER COLUMN massa SET NOT NULL,"
                    + " ALTER COLUMN label TYPE label_t");
            Tables.grantApp(c, "public.ev");
        }
        TestDatabase.Database db = TestDatabase.cloneDatabase(template, "domain_window_run");
        TestDatabase.Database reference = TestDatabase.cloneDatabase(template, "domain_window_ref");
        Path job = Files.createTempFile("domain-window", ".yaml");
        Files.writeString(job, "name: domain-window\ntable: ev\noperation: alter-column-type\ncolumn: massa\ntype: integer\n"
                + "using: massa::integer\nworkers: 1\n");

        String insert;
        long inserted;
        try (JvmProcess run = JvmProcess.start("domain-window", List.of("-D" + FaultPoints.PROPERTY + "=contract:not-null-added"),
                db, "run", job.toString())) {
            String partition = run.await(l -> l.startsWith("PGREWRITE-PAUSED contract:not-null-added "), 180).split(" ")[2];
            LocalDate day = LocalDate.parse(partition.substring("ev_".length()), DateTimeFormatter.BASIC_ISO_DATE);
            inserted = (day.toEpochDay() - START.toEpochDay()) * 1_000_000L + 900_001;
            insert = "INSERT INTO ev (id, at, massa, label) VALUES (" + inserted + ", '" + day + " 12:00:00', 'x', 'bad')";
            try (Connection app = db.connectAsApp(); Statement st = app.createStatement()) {
                assertThat(st.executeUpdate(insert)).isOne();
            }
            run.kill();
        }

        CliRun refused = CliRun.run(db, "restart", String.valueOf(CrashWindowsTest.lastExecution(db)));
        assertThat(refused.exitCode()).as(refused.toString()).isNotEqualTo(ExitCodes.OK);
        assertThat(refused.toString()).contains("row (" + inserted + ",", "does not become integer", "Nothing was contracted")
                .doesNotContain("does not allow null values");

        String fix = "UPDATE ev SET massa = '42' WHERE id = " + inserted;
        try (Connection app = db.connectAsApp(); Statement st = app.createStatement()) {
            assertThat(st.executeUpdate(fix)).isOne();
        }
        CliRun done = CliRun.run(db, "restart", String.valueOf(CrashWindowsTest.lastExecution(db)));
        assertThat(done.exitCode()).as(done.toString()).isEqualTo(ExitCodes.OK);

        try (Connection c = reference.connect(); Statement st = c.createStatement()) {
            st.execute(insert);
            st.execute(fix);
            st.execute("ALTER TABLE ev ALTER COLUMN massa TYPE integer USING massa::integer");
        }
        try (Connection ours = db.connect(); Connection theirs = reference.connect(); Statement st = ours.createStatement()) {
            assertThat(CatalogSnapshot.rows(ours, "ev")).hasSize(DAYS * ROWS + 1).containsExactlyElementsOf(CatalogSnapshot.rows(theirs, "ev"));
            assertThat(CatalogSnapshot.full(ours, "ev")).containsExactlyElementsOf(CatalogSnapshot.full(theirs, "ev"));
            assertThat(one(st, "SELECT massa FROM ev WHERE id = " + inserted)).isEqualTo(42);
            assertThat(one(st, "SELECT count(*) FROM pgrewrite.sync_failed")).isZero();
            assertThat(CrashWindowsTest.leftovers(st)).isEmpty();
        }
    }
}
