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
 * A DBA commented one partition's column, another partition's index and a third's constraint, and plans a compact:
 * plan says the swap carries each kind over and counts the partitions that have it, from comments alone (nothing
 * else of the kind is set); a comment elsewhere in the database (another table's column and index) is not counted.
 * On PostgreSQL 18, a comment on a NOT NULL constraint, whose name on the rewritten partition is PostgreSQL's
 * choice, is named as not carried over. plan finds the comments by joining pg_description (one catalog read for all
 * partitions), not by a function call per column.
 */
class CarriedCommentsPlanTest {

    @Test
    void planCountsThePartitionsWhoseColumnsIndexesOrConstraintsAreCommented() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("carried_comments");
        boolean pg18;
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), 4, 10);
            st.execute("COMMENT ON COLUMN ev_20240301.label IS 'free text'");
            st.execute("CREATE INDEX ev_20240302_label ON ev_20240302 (label)");
            st.execute("COMMENT ON INDEX ev_20240302_label IS 'by label'");
            st.execute("ALTER TABLE ev_20240303 ADD CONSTRAINT ev_20240303_positive CHECK (id > 0)");
            st.execute("COMMENT ON CONSTRAINT ev_20240303_positive ON ev_20240303 IS 'no zero ids'");
            // elsewhere in the database: not the job's partitions
            st.execute("CREATE TABLE other (id int, note text)");
            st.execute("CREATE INDEX other_note ON other (note)");
            st.execute("COMMENT ON COLUMN other.note IS 'not a partition'");
            st.execute("COMMENT ON INDEX other_note IS 'not a partition either'");
            pg18 = Tables.one(st, "SELECT current_setting('server_version_num')::int") >= 180000;
            if (pg18) {
                String notNull;
                try (var rs = st.executeQuery("SELECT conname FROM pg_constraint WHERE conrelid = 'ev_20240304'::regclass"
                        + " AND contype = 'n' ORDER BY conname LIMIT 1")) {
                    rs.next();
                    notNull = rs.getString(1);
                }
                st.execute("COMMENT ON CONSTRAINT " + Tables.q(notNull) + " ON ev_20240304 IS 'never null'");
            }
        }
        Path job = Files.createTempFile("carried-comments", ".yaml");
        Files.writeString(job, "name: carried-comments\ntable: ev\noperation: compact\n");

        CliRun plan = CliRun.run(db, "plan", job.toString());
        assertThat(plan.exitCode()).as(plan.toString()).isEqualTo(ExitCodes.OK);
        assertThat(plan.out()).contains("column comments, grants, statistics targets or options (1 partition)",
                "comments on indexes or constraints (2 partitions)");
        if (pg18) {
            assertThat(plan.out()).contains("warning: comments on [ev_20240304 ");
        } else {
            assertThat(plan.out()).doesNotContain("not carried over");
        }
    }
}
