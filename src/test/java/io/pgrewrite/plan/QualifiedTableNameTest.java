package io.pgrewrite.plan;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.LocalDate;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An operator used to pgslice, pg_repack and psql writes {@code table: public.passage}, or a quoted
 * {@code "Archief 2024"."Passage-Log"}: both plan (issue 10, item 7). A name that cannot be one
 * ({@code a.b.c}, a quote never closed) is refused with what to write instead, and an error never
 * doubles the schema ("public.public.passage").
 */
class QualifiedTableNameTest {

    static TestDatabase.Database db;

    @TempDir
    Path dir;

    @BeforeAll
    static void tables() throws Exception {
        db = TestDatabase.newDatabase("qualified");
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", "passage", LocalDate.of(2024, 3, 1), 2, 10);
            Tables.daily(c, "Archief 2024", "Passage-Log", LocalDate.of(2024, 3, 1), 2, 10);
        }
    }

    private CliRun plan(String yaml) throws Exception {
        Path f = Files.createTempFile(dir, "job", ".yaml");
        Files.writeString(f, "name: t\noperation: compact\n" + yaml);
        return CliRun.run(db, "plan", f.toString());
    }

    @Test
    void schemaDotTable() throws Exception {
        CliRun r = plan("table: public.passage\n");
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.OK);
        assertThat(r.out()).contains("[ok] table exists: public.passage", "passage_20240301", "Total: 2 partitions");
    }

    @Test
    void quotedParts() throws Exception {
        CliRun r = plan("table: '\"Archief 2024\".\"Passage-Log\"'\n");
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.OK);
        assertThat(r.out()).contains("[ok] table exists: Archief 2024.Passage-Log", "Passage-Log_20240301");
    }

    @Test
    void aTableThatIsNotThereIsNamedOnce() throws Exception {
        CliRun r = plan("table: public.nosuch\n");
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.PRECONDITION);
        assertThat(r.err()).contains("Table not found: public.nosuch.").doesNotContain("public.public");
        CliRun quoted = plan("table: '\"Archief 2024\".nosuch'\n");
        assertThat(quoted.err()).contains("Table not found: \"Archief 2024\".nosuch.");
    }

    @Test
    void threePartsOrAnOpenQuoteAreRefused() throws Exception {
        CliRun three = plan("table: a.b.c\n");
        assertThat(three.exitCode()).as(three.toString()).isEqualTo(ExitCodes.BAD_DEFINITION);
        assertThat(three.err()).contains("'table' is 'a.b.c'; give a table or schema.table; this has 3 parts",
                "goes in double quotes");
        CliRun open = plan("table: '\"Archief 2024.passage'\n");
        assertThat(open.exitCode()).as(open.toString()).isEqualTo(ExitCodes.BAD_DEFINITION);
        assertThat(open.err()).contains("the double quote at position 1 is never closed");
    }

    @Test
    void theSchemaGivenTwiceMustAgree() throws Exception {
        CliRun r = plan("schema: other\ntable: public.passage\n");
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.BAD_DEFINITION);
        assertThat(r.err()).contains("'schema' is 'other' but 'table' names schema 'public'");
        assertThat(plan("schema: public\ntable: public.passage\n").exitCode()).isEqualTo(ExitCodes.OK);
    }
}
