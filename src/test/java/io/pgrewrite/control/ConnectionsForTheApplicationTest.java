package io.pgrewrite.control;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.OwnServer;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A server with max_connections 40 (37 for roles without superuser), the application holding 14 of them. A job
 * file with 4 workers would take a pool of up to 26 connections, and the application's next connect would fail
 * with "too many clients": plan refuses it, naming the figures and the worker count that fits, before anything
 * changes. The job then runs with 1 worker; {@code pgrewrite set ID workers=4} is refused the same way (exit 4,
 * nothing changed), and taken once the application has closed its sessions. Every row is there at the end. Without
 * the checks, plan passed and set took workers=4.
 */
class ConnectionsForTheApplicationTest {

    static final int DAYS = 2;
    static final int ROWS = 3000;
    static final int APP_SESSIONS = 14;

    @TempDir
    Path dir;

    @Test
    void workersGetOnlyTheConnectionsTheApplicationLeaves() throws Exception {
        try (OwnServer server = OwnServer.start(Map.of("max_connections", "40"))) { // its own: connections are server-wide
            TestDatabase.Database db = server.newDatabase("conn_budget");
            try (Connection c = db.connect()) {
                Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), DAYS, ROWS);
            }
            Path four = dir.resolve("four.yaml");
            Files.writeString(four, "name: conns\ntable: ev\noperation: alter-column-type\ncolumn: massa\ntype: integer\n"
                    + "workers: 4\ncopy:\n  chunk-rows: 500\n  pause: 1s\n");
            Path one = dir.resolve("one.yaml");
            Files.writeString(one, Files.readString(four).replace("workers: 4", "workers: 1"));

            List<Connection> app = appSessions(db);
            CliRun refused = CliRun.run(db, "plan", four.toString());
            assertThat(refused.exitCode()).as(refused.toString()).isEqualTo(ExitCodes.PRECONDITION);
            assertThat(refused.out() + refused.err()).contains("connections for 4 workers", "up to 26 connections",
                    "37 connections for roles without superuser (max_connections 40 less 3 reserved)",
                    "Lower workers to", "Nothing was changed");
            assertThat(Watch.number(db, "SELECT count(*) FROM pg_class WHERE relname LIKE '%__rw'")).isZero();

            CliRun planned = CliRun.run(db, "plan", one.toString());
            assertThat(planned.exitCode()).as(planned.toString()).isEqualTo(ExitCodes.OK);

            CompletableFuture<CliRun> run = CompletableFuture.supplyAsync(() -> CliRun.run(db, "run", one.toString()));
            long id = Watch.copying(db);
            String ID = String.valueOf(id);
            JobControls controls = new JobControls(db.dataSource());

            CliRun more = CliRun.run(db, "set", ID, "workers=4", "copy.pause=200ms");
            assertThat(more.exitCode()).as(more.toString()).isEqualTo(ExitCodes.PRECONDITION);
            assertThat(more.err()).contains("Execution " + id + ": workers=4 needs a pool of up to 26 connections",
                    "open by sessions that are not pgrewrite's", "Nothing was changed").doesNotContain("Exception");
            assertThat(controls.state(id).settings()).isEmpty();

            for (Connection c : app) {
                c.close();
            }
            CliRun taken = CliRun.run(db, "set", ID, "workers=4", "copy.pause=200ms");
            assertThat(taken.exitCode()).as(taken.toString()).isEqualTo(ExitCodes.OK);
            assertThat(controls.state(id).settings()).containsEntry("workers", "4");

            CliRun done = run.get(120, TimeUnit.SECONDS);
            assertThat(done.exitCode()).as(done.toString()).isEqualTo(ExitCodes.OK);
            assertThat(Watch.number(db, "SELECT count(*) FROM ev")).isEqualTo((long) DAYS * ROWS);
            assertThat(Watch.number(db, "SELECT count(DISTINCT id) FROM ev")).isEqualTo((long) DAYS * ROWS);
        }
    }

    /** The application's sessions, open as its DML-only role. */
    private static List<Connection> appSessions(TestDatabase.Database db) throws SQLException {
        List<Connection> app = new ArrayList<>();
        for (int i = 0; i < APP_SESSIONS; i++) {
            app.add(db.connectAsApp());
        }
        return app;
    }
}
