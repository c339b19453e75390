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

    /**
     * Makes pgrewrite's own schema (its migrations) in the test database, as any command that may write does:
     * here {@code stop} of an execution that does not exist. {@code status} and {@code plan} never create it.
     */
    public static void makeSchema(TestDatabase.Database db) {
        CliRun r = run(db, "stop", "0");
        if (r.exitCode() != 5) {
            throw new AssertionError("stop 0 to make schema pgrewrite: " + r);
        }
    }

    @Override
    public String toString() {
        return "exit " + exitCode + "\n--- out\n" + out + "--- err\n" + err;
    }
}
