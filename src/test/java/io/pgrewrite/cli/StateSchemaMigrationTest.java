package io.pgrewrite.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.StatementLog;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * pgrewrite starts on a database it never ran on and makes its schema (its migrations); on every later start,
 * where each migration it ships is applied, it reads Flyway's history (two statements) and runs no Flyway, which
 * was a sixth of the Spring context's start-up when it ran on every start.
 */
class StateSchemaMigrationTest {

    @Test
    void theFirstStartMigratesTheNextOnlyReadTheHistory() {
        TestDatabase.Database db = TestDatabase.newDatabase("state_schema");
        JdbcTemplate jdbc = new JdbcTemplate(db.dataSource());
        assertThat(StateSchema.of(jdbc)).isEqualTo(StateSchema.ABSENT);

        StatementLog first = new StatementLog(db.dataSource());
        StateSchema.migrate(first.dataSource());
        assertThat(StateSchema.of(jdbc)).isEqualTo(StateSchema.CURRENT);
        assertThat(first.statements().size()).as("Flyway migrated").isGreaterThan(2);

        StatementLog again = new StatementLog(db.dataSource());
        StateSchema.migrate(again.dataSource());
        assertThat(again.statements()).containsExactly(StateSchema.HISTORY_EXISTS, StateSchema.APPLIED);

        // A command that starts Spring on that database finds its JobRepository's tables and migrates nothing again.
        Integer applied = jdbc.queryForObject(HISTORY_ROWS, Integer.class);
        CliRun stop = CliRun.run(db, "stop", "424242");
        assertThat(stop.exitCode()).as(stop.toString()).isEqualTo(ExitCodes.NOTHING_TO_DO);
        assertThat(jdbc.queryForObject(HISTORY_ROWS, Integer.class)).isEqualTo(applied);
    }

    private static final String HISTORY_ROWS = "SELECT count(*) FROM pgrewrite.flyway_schema_history";
}
