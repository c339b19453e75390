package io.pgrewrite.remote;

import static io.pgrewrite.testsupport.Tables.one;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.LocalDate;
import java.util.List;

import io.pgrewrite.testsupport.JvmProcess;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;

/**
 * One manager and three worker processes on this machine rewrite a table with nothing but PostgreSQL
 * between them. A worker is killed (kill -9) in the middle of a partition: the manager sends that
 * partition again, a worker started late picks up work, and the job completes with every row exactly
 * once. A job with more workers than partitions completes too. {@code stop} of a remote job stops it, and running the
 * file again completes it.
 */
class RemoteWorkersTest {

    static final int ROWS = 8000;

    @Test
    void aWorkerKilledInTheMiddleOfAPartitionCostsARetryNotARow() throws Exception {
        int days = 8;
        TestDatabase.Database db = TestDatabase.newDatabase("remote");
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), days, ROWS);
        }
        Path job = Files.createTempFile("remote", ".yaml");
        Files.writeString(job, "name: remote\ntable: ev\noperation: alter-column-type\ncolumn: massa\ntype: integer\n"
                + "workers: 3\ncopy:\n  chunk-rows: 500\n  pause: 400ms\n");
        List<String> noArgs = List.of();
        try (JvmProcess w1 = JvmProcess.start("worker-1", noArgs, db, "worker", "--max-idle", "60s");
                JvmProcess w2 = JvmProcess.start("worker-2", noArgs, db, "worker", "--max-idle", "60s");
                JvmProcess w3 = JvmProcess.start("worker-3", noArgs, db, "worker", "--max-idle", "60s")) {
            for (JvmProcess w : List.of(w1, w2, w3)) {
                w.await(l -> l.contains("taking partition requests"), 90);
            }
            try (JvmProcess manager = JvmProcess.start("manager", noArgs, db, "run", job.toString(), "--remote", "--staleness", "5s")) {
                w1.await(l -> l.contains(": rewrite:ev_"), 120);
                String killedPartition;
                try (JvmProcess late = JvmProcess.start("worker-late", noArgs, db, "worker", "--max-idle", "60s")) {
                    late.await(l -> l.contains("taking partition requests"), 90);
                    killedPartition = killInTheMiddleOfAPartition(w1);
                    assertThat(manager.waitFor(240)).as(manager.output()).isZero();
                    assertThat(late.output()).as("the late worker ran a partition").contains(": rewrite:ev_");
                }
                assertThat(manager.output()).contains(killedPartition + ": its worker is gone");
            }
        }
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM ev")).isEqualTo((long) days * ROWS);
            assertThat(one(st, "SELECT count(DISTINCT (id, at)) FROM ev")).isEqualTo((long) days * ROWS);
            assertThat(one(st, "SELECT count(*) FROM ev WHERE massa = (id % 1000000) % 3000")).isEqualTo((long) days * ROWS);
            try (ResultSet rs = st.executeQuery("SELECT partition_name, state, rows_copied FROM pgrewrite.partition_state")) {
                int n = 0;
                while (rs.next()) {
                    n++;
                    assertThat(rs.getString("state")).isEqualTo("retired");
                    // a chunk's count commits with the chunk: the killed partition resumed, it was not copied twice
                    assertThat(rs.getLong("rows_copied")).as(rs.getString(1)).isEqualTo(ROWS);
                }
                assertThat(n).isEqualTo(days);
            }
        }
    }

    @Test
    void moreWorkersThanPartitions() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("remote_few");
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), 2, 1000);
        }
        Path job = Files.createTempFile("few", ".yaml");
        Files.writeString(job, "name: few\ntable: ev\noperation: compact\nworkers: 5\n");
        List<String> noArgs = List.of();
        try (JvmProcess w1 = JvmProcess.start("worker-1", noArgs, db, "worker", "--threads", "3", "--max-idle", "30s");
                JvmProcess manager = JvmProcess.start("manager", noArgs, db, "run", job.toString(), "--remote")) {
            assertThat(manager.waitFor(180)).as(manager.output()).isZero();
            // SIGTERM: the worker stops taking requests and exits (here, with nothing left to finish)
            w1.terminate(30);
        }
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM ev")).isEqualTo(2000);
            assertThat(one(st, "SELECT count(*) FROM pgrewrite.partition_state WHERE state = 'retired'")).isEqualTo(2);
        }
    }


    /**
     * Kills the worker a second into a partition (its copy pauses take several seconds): on a loaded machine the late
     * worker can take long to start, and the worker may be at the end of a partition by then; it is killed in the
     * next. Returns the partition.
     */
    private static String killInTheMiddleOfAPartition(JvmProcess worker) throws InterruptedException {
        long end = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < end) {
            java.util.Set<String> open = unfinished(worker.output());
            if (open.size() == 1) {
                Thread.sleep(1000); // a few chunks into it, if it was taken just now
                if (unfinished(worker.output()).equals(open)) {
                    worker.kill();
                    return open.iterator().next();
                }
            }
            Thread.sleep(100);
        }
        throw new AssertionError("no partition in progress on the worker for 120 s:\n" + worker.output());
    }

    /** The partitions a worker took ("worker N: rewrite:P") and has not finished ("… rewrite:P STATUS"). */
    private static java.util.Set<String> unfinished(String workerOutput) {
        java.util.Set<String> open = new java.util.LinkedHashSet<>();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("worker [^:]+: rewrite:(\\S+)( (\\S+))?").matcher(workerOutput);
        while (m.find()) {
            if (m.group(3) == null) {
                open.add(m.group(1));
            } else {
                open.remove(m.group(1));
            }
        }
        return open;
    }

    /**
     * {@code pgrewrite stop} marks the job STOPPING, which the JobRepository saves as STOPPED at once: the manager took
     * only STOPPING for a stop, so it sent every partition its worker stopped again, about once a second, and never
     * ended.
     */
    @Test
    void aStoppedRemoteJobEndsStoppedAndRunningItAgainCompletesIt() throws Exception {
        int days = 3;
        TestDatabase.Database db = TestDatabase.newDatabase("remote_stop");
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), days, ROWS);
        }
        Path job = Files.createTempFile("remote-stop", ".yaml");
        Files.writeString(job, "name: remote\ntable: ev\noperation: compact\nworkers: 1\ncopy:\n  chunk-rows: 500\n  pause: 400ms\n");
        try (JvmProcess w1 = JvmProcess.start("worker-1", List.of(), db, "worker", "--max-idle", "120s")) {
            w1.await(l -> l.contains("taking partition requests"), 90);
            try (JvmProcess manager = JvmProcess.start("manager", List.of(), db, "run", job.toString(), "--remote")) {
                w1.await(l -> l.contains(": rewrite:ev_"), 120);
                Thread.sleep(1500); // a few chunks into the first partition
                long execution;
                try (Connection c = db.connect(); Statement st = c.createStatement()) {
                    execution = one(st, "SELECT max(job_execution_id) FROM pgrewrite.batch_job_execution");
                }
                io.pgrewrite.testsupport.CliRun stop = io.pgrewrite.testsupport.CliRun.run(db, "stop", String.valueOf(execution));
                assertThat(stop.exitCode()).as(stop.toString()).isZero();
                assertThat(manager.waitFor(90)).as(manager.output()).isEqualTo(io.pgrewrite.cli.ExitCodes.STOPPED);
                assertThat(manager.output()).doesNotContain("stopped by its worker; sending it again");
            }
            try (JvmProcess again = JvmProcess.start("manager-again", List.of(), db, "run", job.toString(), "--remote")) {
                assertThat(again.waitFor(240)).as(again.output()).isZero();
            }
        }
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM ev")).isEqualTo((long) days * ROWS);
            assertThat(one(st, "SELECT count(DISTINCT (id, at)) FROM ev")).isEqualTo((long) days * ROWS);
            assertThat(one(st, "SELECT count(*) FROM pgrewrite.partition_state WHERE state = 'retired'")).isEqualTo(days);
        }
    }
}
