package io.pgrewrite.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.Statement;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;

/**
 * A new user points {@code SPRING_DATASOURCE_URL} at a database that already has its own
 * {@code public.passage} and types {@code pgrewrite demo} (issue 9, defect 10): demo refuses, names the
 * table and the flag, and the user's row is still there. With {@code --replace} it replaces the table;
 * a table demo made itself it replaces without being asked.
 */
class DemoLeavesForeignTablesTest {

    @Test
    void aUsersOwnPassageSurvivesDemo() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("demo_foreign");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE public.passage (id bigint PRIMARY KEY, kenteken text)");
            st.execute("INSERT INTO public.passage VALUES (1, 'XX-99-YY')");
        }

        CliRun refused = CliRun.run(db, "demo", "--days", "1", "--rows-per-day", "10");
        assertThat(refused.exitCode()).as(refused.toString()).isEqualTo(ExitCodes.PRECONDITION);
        assertThat(refused.err()).contains("public.passage is a table that `pgrewrite demo` did not make",
                "nothing was changed", "--table", "--replace");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(Tables.one(st, "SELECT count(*) FROM public.passage WHERE kenteken = 'XX-99-YY'")).isEqualTo(1);
        }

        CliRun replaced = CliRun.run(db, "demo", "--days", "1", "--rows-per-day", "10", "--replace");
        assertThat(replaced.exitCode()).as(replaced.toString()).isEqualTo(ExitCodes.OK);
        CliRun again = CliRun.run(db, "demo", "--days", "1", "--rows-per-day", "20");
        assertThat(again.exitCode()).as(again.toString()).isEqualTo(ExitCodes.OK);
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(Tables.one(st, "SELECT count(*) FROM pg_partitioned_table WHERE partrelid = 'public.passage'::regclass"))
                    .isEqualTo(1);
            assertThat(Tables.one(st, "SELECT count(*) FROM public.passage")).isEqualTo(20);
        }
    }
}
