package io.pgrewrite.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.time.LocalDate;

import io.pgrewrite.cli.Cli;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class SmokeTest {

    @TempDir
    Path dir;

    @Test
    void alterType() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("smoke");
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), 3, 5000);
        }
        Path job = dir.resolve("j.yaml");
        Files.writeString(job, "name: t\ntable: ev\noperation: alter-column-type\ncolumn: massa\ntype: integer\nworkers: 2\n");
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        String[] args = concat(new String[] {"run", job.toString()}, db.cliOptions());
        int code = new CommandLine(new Cli()).setOut(new PrintWriter(out)).setErr(new PrintWriter(err)).execute(args);
        System.out.println(out);
        System.out.println(err);
        assertThat(code).isEqualTo(0);
        try (Connection c = db.connect(); ResultSet rs = c.createStatement().executeQuery(
                "SELECT format_type(atttypid, atttypmod), (SELECT count(*) FROM ev) FROM pg_attribute WHERE attrelid = 'ev'::regclass AND attname = 'massa'")) {
            rs.next();
            assertThat(rs.getString(1)).isEqualTo("integer");
            assertThat(rs.getLong(2)).isEqualTo(15000);
        }
    }

    static String[] concat(String[] a, String[] b) {
        String[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
