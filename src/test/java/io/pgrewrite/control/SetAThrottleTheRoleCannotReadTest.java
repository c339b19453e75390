package io.pgrewrite.control;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.OwnServer;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * pgrewrite runs a job as the table's owner, a role without pg_monitor, so plan would refuse a definition
 * with {@code throttle.replication-lag}. The operator tries to add it while the job runs, with {@code
 * pgrewrite set}: refused (exit 4), naming the key, the role and the GRANT, and nothing changed, not even the
 * other key of the same call; also when she runs {@code set} as a superuser (the job's role is the one that
 * reads the signal). Keys that need no privilege ({@code throttle.lock-waiters}, {@code anti-wraparound=false})
 * are taken. Granted pg_monitor, the job's role may have the lag throttle; the job completes.
 */
class SetAThrottleTheRoleCannotReadTest {

    static final int DAYS = 2;
    static final int ROWS = 3000;

    @TempDir
    Path dir;

    @Test
    void setRefusesASignalTheJobCouldNotRead() throws Exception {
        try (OwnServer server = OwnServer.start(Map.of())) { // its own: the GRANT below is server-wide
            TestDatabase.Database db = server.newDatabase("set_priv");
            SlowJob.table(db, DAYS, ROWS);
            CompletableFuture<CliRun> run = SlowJob.run(db, SlowJob.file(dir, "set-priv", 1));
            long id = Watch.copying(db);
            String ID = String.valueOf(id);
            JobControls controls = new JobControls(db.dataSource());

            CliRun refused = CliRun.run(db, "set", ID, "throttle.replication-lag=30s", "copy.pause=500ms");
            assertThat(refused.exitCode()).as(refused.toString()).isEqualTo(ExitCodes.PRECONDITION);
            assertThat(refused.err()).contains("Execution " + id + ": throttle.replication-lag needs to see other sessions and standbys",
                    "role pgrewrite_owner, running the job, cannot", "GRANT pg_monitor TO \"pgrewrite_owner\"", "Nothing was changed")
                    .doesNotContain("Exception");
            assertThat(controls.state(id).settings()).isEmpty();

            CliRun two = CliRun.run(db, "set", ID, "throttle.anti-wraparound=true", "throttle.oldest-transaction=1h");
            assertThat(two.exitCode()).as(two.toString()).isEqualTo(ExitCodes.PRECONDITION);
            assertThat(two.err()).contains("throttle.anti-wraparound, throttle.oldest-transaction need to see");

            List<String> asSuperuser = List.of("set", ID, "throttle.replication-lag-bytes=1GB", "--url", db.url(),
                    "--username", db.server().user(), "--password", db.server().password());
            CliRun bySuperuser = CliRun.run(null, asSuperuser.toArray(String[]::new));
            assertThat(bySuperuser.exitCode()).as(bySuperuser.toString()).isEqualTo(ExitCodes.PRECONDITION);
            assertThat(bySuperuser.err()).contains("throttle.replication-lag-bytes needs", "role pgrewrite_owner, running the job,");
            assertThat(controls.state(id).settings()).isEmpty();

            CliRun free = CliRun.run(db, "set", ID, "throttle.lock-waiters=3", "throttle.anti-wraparound=false");
            assertThat(free.exitCode()).as(free.toString()).isEqualTo(ExitCodes.OK);

            try (Connection c = db.connectAsSuperuser(); Statement st = c.createStatement()) {
                st.execute("GRANT pg_monitor TO " + TestDatabase.OWNER);
            }
            CliRun granted = CliRun.run(db, "set", ID, "throttle.replication-lag=30s", "copy.pause=0ms");
            assertThat(granted.exitCode()).as(granted.toString()).isEqualTo(ExitCodes.OK);
            assertThat(controls.state(id).settings()).containsEntry("throttle.replication-lag", "30s")
                    .containsEntry("throttle.lock-waiters", "3");

            CliRun done = run.get(120, TimeUnit.SECONDS);
            assertThat(done.exitCode()).as(done.toString()).isEqualTo(ExitCodes.OK);
            assertThat(Watch.number(db, "SELECT count(*) FROM ev")).isEqualTo((long) DAYS * ROWS);
        }
    }
}
