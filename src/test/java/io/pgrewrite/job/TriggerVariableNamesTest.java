package io.pgrewrite.job;

import static io.pgrewrite.testsupport.Tables.one;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.List;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.testsupport.JvmProcess;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Columns named like PL/pgSQL's trigger variables ({@code tg_op}, {@code new}) in an {@code add-column}'s expression:
 * the sync trigger took each for ambiguous, so every row the application wrote during the job got no value and a line
 * in sync_error, and contract refused for ever (no UPDATE could fill them). The application's rows get their value as
 * the copied rows do.
 */
class TriggerVariableNamesTest {

    @TempDir
    Path dir;

    @Test
    void columnsNamedLikeTriggerVariablesAreColumnsInTheSyncTrigger() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("trigger_vars");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE ev (id int, at timestamp NOT NULL, tg_op text, new text, PRIMARY KEY (id, at))"
                    + " PARTITION BY RANGE (at)");
            st.execute("CREATE TABLE ev_20240301 PARTITION OF ev FOR VALUES FROM ('2024-03-01') TO ('2024-03-02')");
            st.execute("CREATE TABLE ev_20240302 PARTITION OF ev FOR VALUES FROM ('2024-03-02') TO ('2024-03-03')");
            st.execute("INSERT INTO ev SELECT g, '2024-03-01'::timestamp + g * interval '1 minute', 'op' || g, 'n' || g"
                    + " FROM generate_series(1, 2000) g");
            Tables.grantApp(c, "public.ev");
        }
        Path job = dir.resolve("add.yaml");
        Files.writeString(job, "name: add\ntable: ev\noperation: add-column\ncolumn: c\ntype: text\nusing: upper(tg_op) || new\n"
                + "workers: 1\n");
        try (JvmProcess p = JvmProcess.start("vars", List.of("-D" + FaultPoints.ANNOUNCE + "=after-swap",
                "-Dpgrewrite.test.announce-ms=3000"), db, "run", job.toString())) {
            p.await(l -> l.startsWith("PGREWRITE-REACHED after-swap ev_20240301"), 120); // day 1 swapped: nothing copies it again
            try (Connection c = db.connectAsApp(); Statement st = c.createStatement()) {
                st.execute("INSERT INTO ev (id, at, tg_op, new) VALUES (9001, '2024-03-01 23:00', 'ins', 'ert')");
                st.execute("UPDATE ev SET tg_op = 'upd' WHERE id = 5");
            }
            assertThat(p.waitFor(180)).as(p.output()).isEqualTo(ExitCodes.OK);
        }
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM ev")).isEqualTo(2001);
            assertThat(one(st, "SELECT count(*) FROM ev WHERE c IS DISTINCT FROM upper(tg_op) || new")).isZero();
            assertThat(one(st, "SELECT count(*) FROM ev WHERE id IN (5, 9001) AND c IN ('UPDn5', 'INSert')")).isEqualTo(2);
        }
    }
}
