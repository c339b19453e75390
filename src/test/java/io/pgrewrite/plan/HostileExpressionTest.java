package io.pgrewrite.plan;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.LocalDate;
import java.util.Map;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.definition.JobDefinition;
import io.pgrewrite.definition.Operation;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * A job definition arrives in a merge request with an expression written to break out of its slot
 * (issue 9, defect 3): a quote hidden in a comment once hid the {@code ;} from pgrewrite's check, and
 * plan's type check then ran the DROP. Now plan, plan --dry-run and run refuse it, and the victim
 * table is still there. Behind the file's check, PostgreSQL itself proves each expression to be one
 * command: a definition built in code, which skips the file's check, is refused by the server.
 */
class HostileExpressionTest {

    static final String HOSTILE = "kenteken /* ' */) AS text) FROM passage WHERE false; DROP TABLE victim;"
            + " SELECT CAST(( /* ' */ kenteken";

    static TestDatabase.Database db;

    @TempDir
    Path dir;

    @BeforeAll
    static void tables() throws Exception {
        db = TestDatabase.newDatabase("hostile");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            Tables.daily(c, "public", "passage", LocalDate.of(2024, 3, 1), 2, 20);
            st.execute("ALTER TABLE passage ADD COLUMN kenteken text");
            st.execute("CREATE TABLE victim (id int)");
        }
        CliRun.makeSchema(db);
    }

    @AfterEach
    void victimSurvives() throws Exception {
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(Tables.one(st, "SELECT count(*) FROM pg_class WHERE relname = 'victim'")).isEqualTo(1);
            assertThat(Tables.one(st, "SELECT count(*) FROM pg_attribute WHERE attrelid = 'passage'::regclass"
                    + " AND attname IN ('c', 'kenteken__pgrewrite')")).isZero();
        }
    }

    @Test
    void theFileIsRefusedByPlanDryRunAndRun() throws Exception {
        Path job = dir.resolve("hostile.yaml");
        Files.writeString(job, "name: hostile\ntable: passage\noperation: add-column\ncolumn: c\ntype: text\nusing: \""
                + HOSTILE + "\"\n");
        for (String[] command : new String[][] {{"plan"}, {"plan", "--dry-run"}, {"run"}}) {
            String[] args = command.length == 1 ? new String[] {command[0], job.toString()}
                    : new String[] {command[0], job.toString(), command[1]};
            CliRun r = CliRun.run(db, args);
            assertThat(r.exitCode()).as(String.join(" ", command) + "\n" + r).isEqualTo(ExitCodes.BAD_DEFINITION);
            assertThat(r.err()).contains("'using'", "give a single SQL expression", "closes a parenthesis the text did not open");
        }
    }

    @Test
    void theServerRefusesMoreThanOneCommandInUsing() {
        JobDefinition def = definition(Operation.ADD_COLUMN, "c", "text", HOSTILE, null);
        assertThatThrownBy(() -> new Planner(new JdbcTemplate(db.dataSource())).plan(def))
                .isInstanceOf(PlanException.class)
                .hasMessageContaining("using type-checks")
                .hasMessageContaining("PostgreSQL reads it as more than one SQL command")
                .hasMessageContaining("Fix 'using:'");
    }

    @Test
    void theServerRefusesMoreThanOneCommandInSet() {
        JobDefinition def = definition(Operation.BACKFILL, null, null, null, Map.of("label", HOSTILE));
        assertThatThrownBy(() -> new Planner(new JdbcTemplate(db.dataSource())).plan(def))
                .isInstanceOf(PlanException.class)
                .hasMessageContaining("set.label type-checks")
                .hasMessageContaining("PostgreSQL reads it as more than one SQL command");
    }

    @Test
    void theServerRefusesMoreThanOneCommandInTheThrottleQuery() {
        JobDefinition.Throttle throttle = new JobDefinition.Throttle(null, null, null, null, null, false,
                "SELECT 1) /* ' */ ; DROP TABLE victim; SELECT (/* ' */ 1", 10.0, 80, java.time.Duration.ofSeconds(5));
        JobDefinition def = new JobDefinition(null, "hostile", null, "passage", Operation.COMPACT, null, null, null, null,
                null, null, null, 1, null, null, null, null, null, throttle);
        assertThatThrownBy(() -> new Planner(new JdbcTemplate(db.dataSource())).plan(def))
                .isInstanceOf(PlanException.class)
                .hasMessageContaining("throttle.query is one query")
                .hasMessageContaining("PostgreSQL reads it as more than one SQL command");
    }

    @Test
    void theServerRefusesATypeThatIsNotOneTypeName() {
        JobDefinition def = definition(Operation.ADD_COLUMN, "c",
                "text) FROM passage WHERE false; DROP TABLE victim; SELECT CAST(1 AS text", "kenteken", null);
        assertThatThrownBy(() -> new Planner(new JdbcTemplate(db.dataSource())).plan(def))
                .isInstanceOf(PlanException.class)
                .hasMessageContaining("does not read it as one type name");
    }

    @Test
    void anHonestExpressionWithCommentsAndSemicolonsInStringsStillPlans() throws Exception {
        Path job = dir.resolve("honest.yaml");
        Files.writeString(job, "name: honest\ntable: passage\noperation: add-column\ncolumn: c\ntype: text\nusing: |\n"
                + "  coalesce(kenteken, ';') -- unknown plates; keep them visible\n  /* (not a 'quote) */ || '-'\n");
        CliRun r = CliRun.run(db, "plan", job.toString());
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.OK);
        assertThat(r.out()).contains("[ok] using type-checks");
    }

    private static JobDefinition definition(Operation op, String column, String type, String using, Map<String, String> set) {
        return new JobDefinition(null, "hostile", null, "passage", op, column, type, using, set, null, null, null, 1,
                null, null, null, null, null);
    }
}
