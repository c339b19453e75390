package io.pgrewrite.plan;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.time.LocalDate;

import io.pgrewrite.copy.CopyTarget;
import io.pgrewrite.definition.JobDefinitions;
import io.pgrewrite.testsupport.StatementLog;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * 365 small partitions: each one's capture, index and retire read the table and the partition from the catalog
 * again (so that a restart, or a deploy meanwhile, is seen as it is; the swap goes on from the index phase's read
 * and checks its shape and that the partition is still attached). Those reads are few round trips, and what they
 * find is all there.
 */
class PartitionReadsTest {

    @Test
    void aPartitionsWorkIsReadInTwoRoundTripsAndItsShapeCheckedInOne() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("partition_reads");
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), 3, 10);
        }
        StatementLog log = new StatementLog(db.dataSource());
        JdbcTemplate jdbc = new JdbcTemplate(log.dataSource());
        jdbc.execute("ALTER TABLE ev ADD CONSTRAINT massa_positive CHECK (massa >= 0)");
        jdbc.execute("CREATE INDEX ev_label ON ev (label)");
        jdbc.execute("CREATE TRIGGER ev_noop BEFORE UPDATE ON ev FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()");
        var def = JobDefinitions.parse("name: r\ntable: ev\noperation: alter-column-type\ncolumn: massa\ntype: integer\n", null);

        log.clear();
        PartitionWork w = PartitionWork.load(new Catalog(jdbc), def, "ev_20240302");
        assertThat(log.statements()).as("round trips to read the table with one partition").hasSize(2);
        assertThat(w.partition().name()).isEqualTo("ev_20240302");
        assertThat(w.partition().bound()).contains("FROM ('2024-03-02 00:00:00') TO ('2024-03-03 00:00:00')");
        assertThat(w.partition().totalBytes()).isPositive();
        assertThat(w.table().partitionKey()).containsExactly("at");
        assertThat(w.table().keyColumns()).containsExactly("id", "at");
        assertThat(w.table().columns()).extracting(Table.Column::name).containsExactly("id", "at", "massa", "label", "extra");
        assertThat(w.table().triggers()).containsExactly("ev_noop");
        assertThat(w.table().details().indexes()).hasSize(2).anyMatch(i -> i.contains("ev_label"));
        assertThat(w.table().details().constraints()).anyMatch(c -> c.startsWith("massa_positive: CHECK"));

        log.clear();
        Table all = new Catalog(jdbc).find("public", "ev").orElseThrow();
        assertThat(log.statements()).as("round trips to read the table with all its partitions").hasSize(2);
        assertThat(all.partitions()).extracting(Partition::name).containsExactly("ev_20240301", "ev_20240302", "ev_20240303");

        jdbc.execute("CREATE TABLE ev_20240302__rw (LIKE ev)");
        log.clear();
        assertThat(CopyTarget.drift(jdbc, w)).as("the copy lacks the parent's CHECK").contains("massa_positive");
        assertThat(log.statements()).as("round trips to compare the copy's columns and CHECKs with the parent's").hasSize(1);
    }
}
