package io.pgrewrite.job;

import static io.pgrewrite.testsupport.Tables.one;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.Statement;
import java.time.LocalDate;
import java.util.List;

import io.pgrewrite.definition.JobDefinitions;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * An execution cleaned up by an earlier version recorded the P__old tables it kept by name only (no oid). A later
 * {@code abandon ID --cleanup --drop-old} then drops such a name only while it is a table of no parent, checked under the
 * drop's lock, and says it went by the name; a name that is a partition now (the DBA attached the old day again) stays,
 * with its rows, and is said to.
 */
class KeptByNameOnlyTest {

    @Test
    void aTableKeptByNameIsDroppedOnlyWhileItIsATableOfNoParent() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("kept_by_name");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), 2, 100);
            // as a cleanup left them: one kept P__old detached, one the DBA has attached again in its day's place
            st.execute("ALTER TABLE ev DETACH PARTITION ev_20240301");
            st.execute("ALTER TABLE ev_20240301 RENAME TO ev_20240301__old");
            st.execute("ALTER TABLE ev DETACH PARTITION ev_20240302");
            st.execute("ALTER TABLE ev_20240302 RENAME TO ev_20240302__old");
            st.execute("ALTER TABLE ev ATTACH PARTITION ev_20240302__old FOR VALUES FROM ('2024-03-02') TO ('2024-03-03')");
        }
        CliRun.makeSchema(db);
        var ds = db.dataSource();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Engine engine = Engine.create(JobDefinitions.parse("name: v\ntable: ev\noperation: compact\n", null), new JdbcTemplate(ds),
                new TransactionTemplate(new DataSourceTransactionManager(ds)), ds, false, new PrintStream(out, true, StandardCharsets.UTF_8));

        Cleanup.DroppedKept r = new Cleanup(engine).dropKept(List.of(
                new Cleanup.Kept("\"public\".\"ev_20240301__old\"", null), new Cleanup.Kept("\"public\".\"ev_20240302__old\"", null)));

        assertThat(r.dropped()).containsExactly("\"public\".\"ev_20240301__old\"");
        assertThat(r.notes()).anySatisfy(n -> assertThat(n).startsWith("dropped \"public\".\"ev_20240301__old\" identified by its name only"));
        assertThat(r.notes()).anySatisfy(n -> assertThat(n).startsWith("left \"public\".\"ev_20240302__old\": it is a partition now"));
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM pg_class WHERE relname = 'ev_20240301__old'")).isZero();
            assertThat(one(st, "SELECT count(*) FROM ev")).as("the attached day's rows").isEqualTo(100);
        }
    }
}
