package io.pgrewrite.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.JvmProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An operator mistypes the port: pgrewrite says in one line which server it could not reach (host,
 * port, database, user), why, and what to check, and where the stack trace went; {@code --verbose}
 * prints the stack trace too. A URL with {@code user:password@} before its host, which the driver takes for the host
 * name, is refused before anything connects, without its password on stderr or in the log.
 */
class UnreachableDatabaseTest {

    @TempDir
    Path dir;

    @Test
    void oneLineNamingHostAndPort() throws Exception {
        int port = freePort();
        Path log = dir.resolve("pgrewrite.log");
        CliRun run = JvmProcess.runToEnd(List.of(), Map.of("PGREWRITE_LOG_FILE", log.toString()), 120,
                "run", "jobs/passage-massa-to-integer.yaml", "--url", "jdbc:postgresql://localhost:" + port + "/archive",
                "--username", "dba");
        assertThat(run.exitCode()).as(run.toString()).isEqualTo(ExitCodes.ERROR);
        assertThat(run.out()).isEmpty();
        assertThat(run.err().lines().toList()).as(run.err()).hasSize(1);
        assertThat(run.err()).startsWith("Cannot connect to PostgreSQL at localhost:" + port + " (database archive, user dba):"
                + " connection refused. Check --url").contains("Stack trace in " + log).doesNotContain("\tat ");

        CliRun verbose = JvmProcess.runToEnd(List.of(), Map.of("PGREWRITE_LOG_FILE", log.toString()), 120,
                "status", "--verbose", "--url", "jdbc:postgresql://localhost:" + port + "/archive", "--username", "dba");
        assertThat(verbose.exitCode()).isEqualTo(ExitCodes.ERROR);
        assertThat(verbose.err()).contains("\tat ", "Cannot connect to PostgreSQL at localhost:" + port);
        assertThat(verbose.out()).isEmpty();
    }

    @Test
    void aPasswordBeforeTheHostIsRefusedAndNeverPrinted() throws Exception {
        Path log = dir.resolve("pgrewrite.log");
        String secret = "S3cretRevPw!";
        for (String command : List.of("run", "status", "plan")) {
            List<String> args = new java.util.ArrayList<>(List.of(command));
            if (!command.equals("status")) {
                args.add("jobs/passage-massa-to-integer.yaml");
            }
            args.addAll(List.of("--url", "jdbc:postgresql://dba:" + secret + "@127.0.0.1:" + freePort() + "/archive"));
            CliRun run = JvmProcess.runToEnd(List.of(), Map.of("PGREWRITE_LOG_FILE", log.toString()), 120,
                    args.toArray(String[]::new));
            assertThat(run.exitCode()).as(run.toString()).isEqualTo(ExitCodes.ERROR);
            assertThat(run.err()).as(command).contains("names a user or password before the host", "--username and --password")
                    .doesNotContain(secret);
            assertThat(run.out()).doesNotContain(secret);
        }
        assertThat(java.nio.file.Files.readString(log)).contains("names a user or password before the host").doesNotContain(secret);
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
