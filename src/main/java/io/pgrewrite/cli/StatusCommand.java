package io.pgrewrite.cli;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import javax.sql.DataSource;

import io.pgrewrite.definition.JobDefinition;
import io.pgrewrite.definition.JobDefinitions;
import io.pgrewrite.job.DiskSampler;
import io.pgrewrite.job.Report;
import io.pgrewrite.metrics.JobProgress;
import io.pgrewrite.plan.Bytes;
import io.pgrewrite.schedule.Relaunches;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.jdbc.core.JdbcTemplate;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import tools.jackson.databind.json.JsonMapper;

@Command(name = "status", description = {"List executions, or show where one stands: per partition pending, copying,",
        "verifying, swapping, done, stopped or failed, rows done of total, rate and ETA, and what to do next.",
        "Answered from the database alone, also after the process that ran the job is gone."})
final class StatusCommand extends DbCommand {

    /** Executions of the rewrite job, newest first, with their job key. */
    static final String LIST = """
            SELECT e.job_execution_id AS id, e.status, e.start_time, e.end_time,
                   (SELECT p.parameter_value FROM pgrewrite.batch_job_execution_params p
                     WHERE p.job_execution_id = e.job_execution_id AND p.parameter_name = 'job.key') AS job_key
              FROM pgrewrite.batch_job_execution e
              JOIN pgrewrite.batch_job_instance i ON i.job_instance_id = e.job_instance_id
             WHERE i.job_name = 'rewrite' ORDER BY e.job_execution_id DESC LIMIT ?
            """;

    /** Whether the id is a partition's sub-execution (job rewrite-partition), which status does not show. */
    static final String SUB_EXECUTION = """
            SELECT EXISTS (SELECT 1 FROM pgrewrite.batch_job_execution e
                             JOIN pgrewrite.batch_job_instance i ON i.job_instance_id = e.job_instance_id
                            WHERE e.job_execution_id = ? AND i.job_name = 'rewrite-partition')
            """;

    static final String INSTANCE = "SELECT job_instance_id FROM pgrewrite.batch_job_execution WHERE job_execution_id = ?";

    @Parameters(index = "0", arity = "0..1", paramLabel = "EXECUTION_ID", description = "The execution to show")
    Long executionId;

    @Option(names = "--json", description = "Print JSON instead of text")
    boolean json;

    @Option(names = "--limit", defaultValue = "50", description = "Executions to list (default: ${DEFAULT-VALUE})")
    int limit;

    @Override
    int poolSize() {
        return 2;
    }

    /**
     * Without the Spring context (PlainDatabase): status only reads. Where pgrewrite never ran (no schema
     * pgrewrite) there are no executions, and nothing is created; a schema an older pgrewrite made is
     * migrated first, in the Spring context, as before.
     */
    @Override
    int open(PrintStream out) throws Exception {
        if (!PlainDatabase.applies()) {
            return super.open(out);
        }
        try (PlainDatabase db = PlainDatabase.open(connection, poolSize())) {
            StateSchema state = StateSchema.of(new JdbcTemplate(db.dataSource()));
            if (state != StateSchema.BEHIND) {
                return run(db.dataSource(), state == StateSchema.CURRENT, out);
            }
        }
        return super.open(out);
    }

    @Override
    int run(ConfigurableApplicationContext ctx, PrintStream out) throws Exception {
        return run(ctx.getBean(DataSource.class), true, out);
    }

    /** @param state whether schema pgrewrite is there; without it there is nothing to list or show */
    private int run(DataSource ds, boolean state, PrintStream out) throws Exception {
        JdbcTemplate jdbc = new JdbcTemplate(ds);
        if (executionId == null) {
            List<Map<String, Object>> rows = state ? jdbc.queryForList(LIST, limit) : List.of();
            if (json) {
                List<Map<String, Object>> list = new ArrayList<>();
                for (Map<String, Object> r : rows) {
                    String jobKey = (String) r.get("job_key");
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("id", r.get("id"));
                    m.put("job", jobKey == null ? null : jobKey.substring(0, jobKey.indexOf('@')));
                    m.put("table", jobKey == null ? null : jobKey.substring(jobKey.indexOf('@') + 1));
                    m.put("jobKey", jobKey);
                    m.put("status", r.get("status"));
                    m.put("started", iso(r.get("start_time")));
                    m.put("ended", iso(r.get("end_time")));
                    list.add(m);
                }
                out.println(JsonMapper.builder().build().writerWithDefaultPrettyPrinter().writeValueAsString(list));
                return ExitCodes.OK;
            }
            out.printf("%-6s %-10s %-19s %-19s %s%n", "id", "status", "started", "ended", "job");
            for (Map<String, Object> r : rows) {
                out.printf("%-6s %-10s %-19s %-19s %s%n", r.get("id"), r.get("status"), time(r.get("start_time")),
                        time(r.get("end_time")), r.get("job_key"));
            }
            return ExitCodes.OK;
        }
        JobProgress.Execution e = state ? new JobProgress(jdbc).of(executionId) : null;
        if (e == null) {
            err.println(state && jdbc.queryForObject(SUB_EXECUTION, Boolean.class, executionId)
                    ? "Execution " + executionId + " is one partition's part of a pgrewrite execution, not an execution of"
                            + " its own. `pgrewrite status` lists the executions."
                    : "No pgrewrite execution " + executionId + ". `pgrewrite status` lists them.");
            return ExitCodes.NOTHING_TO_DO;
        }
        List<String> next = next(e, ds, jdbc);
        if (json) {
            out.println(JsonMapper.builder().build().writerWithDefaultPrettyPrinter().writeValueAsString(asJson(e, next)));
            return ExitCodes.OK;
        }
        out.printf("Execution %d of %s: %s (started %s, ended %s)%n", e.id(), e.jobKey(), e.status(), time(e.started()),
                time(e.ended()));
        out.printf("Partitions: %d (%s); rows %d of %s%s%n", e.partitions().size(), counts(e.counts()), e.rowsDone(),
                e.rowsTotal() <= 0 ? "?" : "~" + e.rowsTotal(), percent(e));
        // paused or throttled: the rate of the copy before it held, and an ETA at it, would mislead
        boolean held = List.of("STARTING", "STARTED", "STOPPING").contains(e.status())
                && new io.pgrewrite.control.JobControls(jdbc).state(e.id()).copyHeld();
        out.printf("Copy rate: %s; ETA: %s; peak extra disk %s%n",
                held ? "- (copies held: see Controls)"
                        : e.rowsPerSecond() > 0 ? String.format("%.0f rows/s, %.1f MB/s", e.rowsPerSecond(), e.bytesPerSecond() / 1e6)
                        : "- (nothing copying)",
                held || e.eta() == null ? "-" : eta(e.eta()), Bytes.format(DiskSampler.recordedPeak(jdbc, e.id())));
        next.forEach(out::println);
        out.printf("%-28s %-9s %12s %12s %9s %8s %10s %10s %8s %8s %4s  %s%n", "partition", "state", "rows", "of", "rows/s",
                "MB/s", "before", "after", "wait ms", "hold ms", "try", "verify");
        for (JobProgress.Partition p : e.partitions()) {
            out.printf("%-28s %-9s %12d %12s %9s %8s %10s %10s %8s %8s %4s  %s%n", p.name(), p.state(), p.rowsDone(),
                    p.rowsTotal() < 0 ? "?" : String.valueOf(p.rowsTotal()),
                    p.rowsPerSecond() > 0 ? String.format("%.0f", p.rowsPerSecond()) : "-",
                    p.bytesPerSecond() > 0 ? String.format("%.1f", p.bytesPerSecond() / 1e6) : "-",
                    p.bytesBefore() == null ? "-" : Bytes.format(p.bytesBefore()),
                    p.bytesAfter() == null ? "-" : Bytes.format(p.bytesAfter()), ms(p.lockWaitMs()), ms(p.lockHoldMs()),
                    p.swapAttempts() == null ? "-" : p.swapAttempts(), p.verify() == null ? "-" : p.verify());
        }
        if (e.status().equals("COMPLETED")) {
            out.println();
            new Report(jdbc).print(out, e.jobKey(), e.id());
        } else {
            long pending = io.pgrewrite.swap.PendingStatistics.countPending(jdbc, e.jobKey());
            if (pending > 0) {
                out.println("statistics: " + pending + " pending (swapped partitions whose ANALYZE has not committed;"
                        + " sampled before contract)");
            }
        }
        return ExitCodes.OK;
    }

    /** What the operator can do next, in the words of the commands. */
    private List<String> next(JobProgress.Execution e, DataSource ds, JdbcTemplate jdbc) throws Exception {
        List<String> lines = new ArrayList<>();
        long id = e.id();
        switch (e.status()) {
            case "STARTING", "STARTED", "STOPPING" -> {
                if (JobLocks.held(ds, e.jobKey())) {
                    lines.add(e.status().equals("STOPPING") ? "Stopping: partitions stop at their next chunk boundary."
                            : "Running. `pgrewrite stop " + id + "` stops it at the next chunk boundary.");
                    // pause / postpone-swap / set / throttle (io.pgrewrite.control.JobControls)
                    String controls = new io.pgrewrite.control.JobControls(jdbc).state(id).describe();
                    if (controls != null) {
                        lines.add("Controls: " + controls + ".");
                    }
                } else {
                    lines.add("No process is running it (the one that did died). `pgrewrite recover " + id
                            + "` marks it failed, then `pgrewrite restart " + id + "` continues it.");
                }
            }
            case "STOPPED" -> lines.add(JobLocks.held(ds, e.jobKey())
                    ? "Stopping: partitions copying stop at their next chunk boundary; no new one starts."
                    : "Stopped. `pgrewrite restart " + id + "` continues it (the scheduler does at its next trigger).");
            case "FAILED" -> {
                List<JobProgress.Partition> failed = e.partitions().stream().filter(p -> p.state().equals(JobProgress.FAILED)).toList();
                for (JobProgress.Partition p : failed) {
                    lines.add("Failed: " + (p.reason() != null ? p.reason() : p.name() + " (no reason recorded)"));
                }
                String why = JobProgress.reason(e.exitMessage());
                if (failed.isEmpty() && why != null) {
                    lines.add("Failed: " + why);
                }
                JobDefinition.Schedule schedule = schedule(e.file());
                long failures = Relaunches.failures(jdbc, jdbc.queryForObject(INSTANCE, Long.class, id));
                if (schedule != null && Relaunches.allowed(schedule, failures)) {
                    lines.add(String.format("Scheduled: relaunched %d of %d times; the next trigger (%s) relaunches it.",
                            Relaunches.done(failures), schedule.maxRelaunches(), schedule.cron()));
                } else if (schedule != null) {
                    lines.add(String.format("Relaunch limit reached (relaunched %d of %d times): waiting for an operator."
                            + " Fix the cause, then `pgrewrite restart %d`.", Relaunches.done(failures),
                            schedule.maxRelaunches(), id));
                } else {
                    lines.add("Fix the cause, then `pgrewrite restart " + id + "`.");
                }
            }
            case "ABANDONED" -> lines.add("Abandoned: it will not be restarted. To run the job again, give it a new 'name:'.");
            default -> {
            }
        }
        return lines;
    }

    private static JobDefinition.Schedule schedule(String file) {
        try {
            return file == null || file.isBlank() || !Files.exists(Path.of(file)) ? null
                    : JobDefinitions.load(Path.of(file)).schedule();
        } catch (RuntimeException e) {
            return null; // the file changed since; status answers without it
        }
    }

    private static Map<String, Object> asJson(JobProgress.Execution e, List<String> next) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", e.id());
        m.put("job", e.jobName());
        m.put("table", e.table());
        m.put("status", e.status());
        m.put("jobKey", e.jobKey());
        m.put("started", iso(e.started()));
        m.put("ended", iso(e.ended()));
        m.put("partitionsByState", e.counts());
        m.put("rowsDone", e.rowsDone());
        m.put("rowsTotal", e.rowsTotal());
        m.put("rowsPerSecond", Math.round(e.rowsPerSecond()));
        m.put("bytesPerSecond", Math.round(e.bytesPerSecond()));
        m.put("etaSeconds", e.eta() == null ? null : e.eta().toSeconds());
        m.put("next", next);
        List<Map<String, Object>> parts = new ArrayList<>();
        for (JobProgress.Partition p : e.partitions()) {
            Map<String, Object> pm = new LinkedHashMap<>();
            pm.put("partition", p.name());
            pm.put("state", p.state());
            pm.put("rowsDone", p.rowsDone());
            pm.put("rowsTotal", p.rowsTotal());
            pm.put("rowsPerSecond", Math.round(p.rowsPerSecond()));
            pm.put("bytesBefore", p.bytesBefore());
            pm.put("bytesAfter", p.bytesAfter());
            pm.put("lockWaitMs", p.lockWaitMs());
            pm.put("lockHoldMs", p.lockHoldMs());
            pm.put("swapAttempts", p.swapAttempts());
            pm.put("verify", p.verify());
            pm.put("reason", p.reason());
            parts.add(pm);
        }
        m.put("partitions", parts);
        return m;
    }

    private static String counts(Map<String, Integer> counts) {
        List<String> parts = new ArrayList<>();
        counts.forEach((s, n) -> {
            if (n > 0) {
                parts.add(n + " " + s);
            }
        });
        return parts.isEmpty() ? "none yet" : String.join(", ", parts);
    }

    private static String percent(JobProgress.Execution e) {
        return e.rowsTotal() > 0 ? String.format(" (%.0f%%)", 100.0 * Math.min(e.rowsDone(), e.rowsTotal()) / e.rowsTotal()) : "";
    }

    static String eta(Duration d) {
        long s = d.toSeconds();
        return s >= 3600 ? String.format("%dh%02dm", s / 3600, s / 60 % 60) : s >= 60 ? String.format("%dm%02ds", s / 60, s % 60) : s + "s";
    }

    private static String time(Object t) {
        if (t == null) {
            return "-";
        }
        String s = t.toString().replace('T', ' ');
        return s.length() > 19 ? s.substring(0, 19) : s;
    }

    /** ISO-8601 with the offset: the JobRepository stores local times of the JVMs that ran the job (this zone). */
    static String iso(Object t) {
        java.time.LocalDateTime local = t instanceof java.sql.Timestamp ts ? ts.toLocalDateTime()
                : t instanceof java.time.LocalDateTime l ? l : null;
        return local == null ? null : local.atZone(java.time.ZoneId.systemDefault()).toOffsetDateTime().toString();
    }

    private static String ms(Double v) {
        return v == null ? "-" : String.format("%.1f", v);
    }
}
