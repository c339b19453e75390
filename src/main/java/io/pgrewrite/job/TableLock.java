package io.pgrewrite.job;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;

import javax.sql.DataSource;

import io.pgrewrite.definition.JobDefinition;
import io.pgrewrite.pg.Identifiers;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * One job per table at a time, whatever its name. Every job names its working copies, capture triggers
 * and change logs after the partition alone ({@code P__rw}, {@code pgrewrite.log_…}), so two jobs on one
 * table would drop each other's. Two guards:
 * <ul>
 * <li>a session advisory lock keyed by the table's OID, held by the process that runs the job (the
 *     manager, with remote workers) for as long as it runs it, and gone with its session when it dies;</li>
 * <li>no execution of another job on the same table may be unfinished (running, failed, stopped: it
 *     still owns artefacts on the table) — it must be restarted to the end or abandoned first.</li>
 * </ul>
 */
public final class TableLock implements AutoCloseable {

    /**
     * A session-level advisory lock (no table lock at all); the key is the table's OID, so a renamed table
     * keeps its lock and a dropped and recreated one gets a new one. No row when the table does not exist
     * (plan says so).
     */
    static final String TRY = "SELECT pg_try_advisory_lock(hashtextextended('pgrewrite:table:' || c.oid::text, 0))"
            + " FROM pg_class c WHERE c.oid = to_regclass(?)";
    static final String UNLOCK = "SELECT pg_advisory_unlock(hashtextextended('pgrewrite:table:' || c.oid::text, 0))"
            + " FROM pg_class c WHERE c.oid = to_regclass(?)";

    /**
     * The latest execution of every other job on this table that is not finished (COMPLETED is; ABANDONED
     * is once {@code abandon --cleanup} removed its working state: until then its sync trigger, copies and
     * logs are on the table, named per table and partition, and a second job would take them over); the
     * job key is {@code name@schema.table}. Reads the JobRepository's and pgrewrite's tables, no lock taken.
     */
    static final String OTHERS_UNFINISHED = """
            SELECT e.job_execution_id, e.status, p.parameter_value AS job_key
              FROM pgrewrite.batch_job_execution e
              JOIN pgrewrite.batch_job_execution_params p ON p.job_execution_id = e.job_execution_id
              JOIN pgrewrite.batch_job_instance i ON i.job_instance_id = e.job_instance_id
             WHERE i.job_name = ? AND p.parameter_name = ?
               AND right(p.parameter_value, length(?)) = ? AND p.parameter_value <> ?
               AND e.job_execution_id = (SELECT max(e2.job_execution_id) FROM pgrewrite.batch_job_execution e2
                                          WHERE e2.job_instance_id = e.job_instance_id)
               AND (e.status NOT IN ('COMPLETED', 'ABANDONED')
                    OR e.status = 'ABANDONED' AND (
                         EXISTS (SELECT 1 FROM pgrewrite.partition_state s
                                  WHERE s.job_key = p.parameter_value AND s.state NOT IN ('retired', 'gone'))
                      OR EXISTS (SELECT 1 FROM pgrewrite.shape_change sc
                                  WHERE sc.job_key = p.parameter_value AND sc.contracted_at IS NULL)))
             ORDER BY e.job_execution_id
            """;

    private final Connection connection;
    private final String qualified;

    private TableLock(Connection connection, String qualified) {
        this.connection = connection;
        this.qualified = qualified;
    }

    /** Takes the table's lock for the life of the job, or throws naming the execution that has the table. */
    static TableLock acquire(DataSource dataSource, JobDefinition def) throws SQLException {
        String qualified = Identifiers.qualified(def.schema(), def.table());
        Connection c = dataSource.getConnection();
        TableLock lock = new TableLock(c, qualified);
        try (PreparedStatement ps = c.prepareStatement(TRY)) {
            ps.setString(1, qualified);
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next() && !rs.getBoolean(1)) {
                    c.close();
                    refuseOthers(dataSource, def, true);
                    throw new JobRunner.AlreadyRunningException("Another pgrewrite process is starting a job on " + def.schema()
                            + "." + def.table() + ". One job per table at a time, whatever its name: wait for it to end.");
                }
            }
            // We hold the table: an execution of another job still marked running belongs to a dead process.
            refuseOthers(dataSource, def, false);
            return lock;
        } catch (SQLException | RuntimeException e) {
            if (!c.isClosed()) {
                lock.close();
            }
            throw e;
        }
    }

    /**
     * For {@code abandon --cleanup}: the table's lock for the time of the cleanup, so that it never removes
     * the working state of a job running on the table (its sync trigger and change logs are named per table
     * and partition, not per job). Throws when a job holds it.
     */
    public static TableLock forCleanup(DataSource dataSource, JobDefinition def) throws SQLException {
        String qualified = Identifiers.qualified(def.schema(), def.table());
        Connection c = dataSource.getConnection();
        try (PreparedStatement ps = c.prepareStatement(TRY)) {
            ps.setString(1, qualified);
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next() && !rs.getBoolean(1)) {
                    c.close();
                    throw new JobRunner.AlreadyRunningException("A pgrewrite job is running on " + def.schema() + "."
                            + def.table() + ": a cleanup now would remove its working state. Let it end (or stop it), then"
                            + " run the cleanup again. Nothing was removed.");
                }
            }
            return new TableLock(c, qualified);
        } catch (SQLException | RuntimeException e) {
            if (!c.isClosed()) {
                c.close();
            }
            throw e;
        }
    }

    /** Throws when another job on the same table has an unfinished execution. */
    private static void refuseOthers(DataSource dataSource, JobDefinition def, boolean othersHoldTheLock) {
        String suffix = "@" + def.schema() + "." + def.table();
        List<Map<String, Object>> others = new JdbcTemplate(dataSource).queryForList(OTHERS_UNFINISHED, RewriteJob.NAME,
                RewriteJob.JOB_KEY, suffix, suffix, def.jobKey());
        if (others.isEmpty()) {
            return;
        }
        Map<String, Object> o = others.get(others.size() - 1);
        long id = ((Number) o.get("job_execution_id")).longValue();
        String status = (String) o.get("status");
        boolean running = othersHoldTheLock && (status.startsWith("START") || status.equals("STOPPING"));
        String what = running
                ? "is running on it (execution " + id + ", " + status + "). Wait for it to end, or `pgrewrite stop " + id + " --wait`"
                : status.equals("ABANDONED")
                ? "was abandoned (execution " + id + ") but its working state (sync trigger, copies, capture triggers) is"
                        + " still on the table. Remove it with `pgrewrite abandon " + id + " --cleanup`"
                : "has not finished there (execution " + id + " is " + status + (status.startsWith("START")
                        ? " but its process is gone" : "") + ") and still owns working copies and capture triggers on the"
                        + " table. Finish it with `pgrewrite restart " + id + "` or give it up with `pgrewrite abandon " + id + "`";
        throw new JobRunner.AlreadyRunningException("Job " + o.get("job_key") + " " + what + ", then run " + def.jobKey()
                + ". One job per table at a time, whatever its name: jobs on one table would drop each other's working"
                + " copies and change logs.");
    }

    @Override
    public void close() throws SQLException {
        try (PreparedStatement ps = connection.prepareStatement(UNLOCK)) {
            ps.setString(1, qualified);
            ps.execute();
        } finally {
            connection.close();
        }
    }
}
