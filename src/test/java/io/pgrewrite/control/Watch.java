package io.pgrewrite.control;

import java.sql.Connection;
import java.sql.Statement;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;

/** What the steering stories read from the database while a job runs. */
final class Watch {

    private Watch() {
    }

    static long number(TestDatabase.Database db, String sql) throws Exception {
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            return Tables.one(st, sql);
        }
    }

    /** Rows copied so far, over all partitions: each chunk commits its count with its rows. */
    static long rowsCopied(TestDatabase.Database db) throws Exception {
        return number(db, "SELECT coalesce(sum(rows_copied), 0) FROM pgrewrite.partition_state");
    }

    static long swapped(TestDatabase.Database db) throws Exception {
        return number(db, "SELECT count(*) FROM pgrewrite.partition_state WHERE state IN ('swapped', 'retired')");
    }

    static String state(TestDatabase.Database db, String partition) throws Exception {
        try (Connection c = db.connect(); Statement st = c.createStatement();
                var rs = st.executeQuery("SELECT state FROM pgrewrite.partition_state WHERE partition_name = '" + partition + "'")) {
            return rs.next() ? rs.getString(1) : null;
        }
    }

    static void until(String what, int seconds, Callable<Boolean> condition) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < deadline) {
            if (condition.call()) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("not within " + seconds + " s: " + what);
    }

    /** Waits until the run's execution is recorded; returns its id. */
    static long started(TestDatabase.Database db) throws Exception {
        until("the run starts", 90, () -> number(db, "SELECT count(*) FROM pg_tables WHERE schemaname = 'pgrewrite'"
                + " AND tablename = 'job_control'") > 0 && number(db, "SELECT count(*) FROM pgrewrite.batch_job_execution e"
                + " JOIN pgrewrite.batch_job_instance i USING (job_instance_id) WHERE i.job_name = 'rewrite'") > 0);
        return number(db, "SELECT max(job_execution_id) FROM pgrewrite.batch_job_execution e JOIN pgrewrite.batch_job_instance i"
                + " USING (job_instance_id) WHERE i.job_name = 'rewrite'");
    }

    /** Waits until the run has committed some chunks; returns its execution id. */
    static long copying(TestDatabase.Database db) throws Exception {
        until("the run copies", 90, () -> number(db, "SELECT count(*) FROM pg_tables WHERE schemaname = 'pgrewrite'"
                + " AND tablename = 'partition_state'") > 0 && rowsCopied(db) >= 500);
        return number(db, "SELECT max(job_execution_id) FROM pgrewrite.batch_job_execution e JOIN pgrewrite.batch_job_instance i"
                + " USING (job_instance_id) WHERE i.job_name = 'rewrite'");
    }

    /**
     * The copy stands still: the count after the control is obeyed (the poll takes up to a second, the
     * chunk in flight commits), the same {@code seconds} later.
     */
    static long standsStill(TestDatabase.Database db, int seconds) throws Exception {
        Thread.sleep(1800);
        long before = rowsCopied(db);
        Thread.sleep(seconds * 1000L);
        long after = rowsCopied(db);
        if (after != before) {
            throw new AssertionError("chunks were copied while held: " + before + " then " + after + " rows");
        }
        return before;
    }
}
