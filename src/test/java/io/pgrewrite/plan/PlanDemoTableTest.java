package io.pgrewrite.plan;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.LocalDate;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.demo.DemoTable;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;

/** A newcomer plans the example type change on the generated passage table and reads what it will do. */
class PlanDemoTableTest {

    @Test
    void planOfTheExampleJobOnTheDemoTable() {
        TestDatabase.Database db = TestDatabase.newDatabase("plan_demo");
        DemoTable.create(db.dataSource(), "public", "passage", 3, 1000, LocalDate.of(2024, 3, 3));
        CliRun r = CliRun.run(db, "plan", "jobs/passage-massa-to-integer.yaml");
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.OK);
        assertThat(r.out()).contains(
                "Job passage-massa-to-integer: alter-column-type on public.passage, 2 worker(s)",
                "key [id, passage_at]",
                "index CREATE UNIQUE INDEX passage_pkey ON ONLY public.passage USING btree (id, passage_at)",
                "USING gist (locatie)",
                "constraint passage_volgnummer_check: CHECK ((volgnummer >= 0))",
                "passage_20240301", "passage_20240303", "passage_20240308",
                "Total: 8 partitions, ~3000 rows",
                "[ok] column massa_ledig_voertuig exists: smallint",
                "[ok] disk budget: 2.0 GB >= largest partition");
        // oldest first: the order they will be rewritten in
        assertThat(r.out().indexOf("passage_20240301")).isLessThan(r.out().indexOf("passage_20240302"));
    }
}
