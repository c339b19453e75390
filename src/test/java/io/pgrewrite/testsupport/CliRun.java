package io.pgrewrite.testsupport;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;

import io.pgrewrite.cli.Cli;

/** Runs a pgrewrite command in this JVM against a test database; keeps exit code and output. */
public record CliRun(int exitCode, String out, String err) {

    public static CliRun run(TestDatabase.Database db, String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        if (db != null) {
            all.addAll(List.of(db.cliOptions()));
        }
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Cli.commandLine().setOut(new PrintWriter(out, true)).setErr(new PrintWriter(err, true))
                .execute(all.toArray(String[]::new));
        return new CliRun(code, out.toString(), err.toString());
    }

    @Override
    public String toString() {
        return "exit " + exitCode + "\n--- out\n" + out + "--- err\n" + err;
    }
}
