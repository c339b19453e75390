package io.pgrewrite.plan;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.LocalDate;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;

/**
 * What the swap could not carry over is refused by plan, before anything changes: a partition that
 * forces row-level security on its owner (the copy, made as the owner, would see only what the policies
 * show it, and verification too) and a publication of a partition that pgrewrite's role does not own
 * (it could not add the rewritten partition to it, and that day's changes would silently stop being
 * published). Each refusal says what to do; once done, plan passes.
 */
class CarryOverRefusedTest {

    @Test
    void forcedRowSecurityAndAForeignPublicationAreRefusedByPlan() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("carry_refused");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), 2, 100);
            st.execute("ALTER TABLE ev_20240301 ENABLE ROW LEVEL SECURITY");
            st.execute("ALTER TABLE ev_20240301 FORCE ROW LEVEL SECURITY");
        }
        try (Connection su = db.connectAsSuperuser(); Statement st = su.createStatement()) {
            st.execute("CREATE PUBLICATION ev_replica FOR TABLE ev_20240302"); // owned by the superuser
        }
        Path job = Files.createTempFile("carry-refused", ".yaml");
        Files.writeString(job, "name: refused\ntable: ev\noperation: compact\n");

        CliRun plan = CliRun.run(db, "plan", job.toString());
        assertThat(plan.exitCode()).as(plan.toString()).isEqualTo(ExitCodes.PRECONDITION);
        assertThat(plan.toString()).contains("ev_20240301] force row-level security", "BYPASSRLS",
                "publication ev_replica (owner", "ALTER … OWNER TO", "Nothing was changed");

        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            st.execute("ALTER TABLE ev_20240301 NO FORCE ROW LEVEL SECURITY");
        }
        try (Connection su = db.connectAsSuperuser(); Statement st = su.createStatement()) {
            st.execute("ALTER PUBLICATION ev_replica OWNER TO " + TestDatabase.OWNER);
        }
        CliRun again = CliRun.run(db, "plan", job.toString());
        assertThat(again.exitCode()).as(again.toString()).isEqualTo(ExitCodes.OK);
        assertThat(again.out()).contains("publication membership (1 partition)", "row-level security (1 partition)");
    }
}
