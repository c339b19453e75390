package io.pgrewrite.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TimeZone;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import javax.sql.DataSource;

import io.pgrewrite.definition.JobDefinition;
import io.pgrewrite.definition.JobDefinitions;
import io.pgrewrite.job.JobRunner;
import io.pgrewrite.schedule.RewriteTrigger;
import io.pgrewrite.schedule.RunningJobs;
import io.pgrewrite.schedule.ScheduledRun;
import org.quartz.CronScheduleBuilder;
import org.quartz.CronTrigger;
import org.quartz.JobBuilder;
import org.quartz.JobDetail;
import org.quartz.JobKey;
import org.quartz.Scheduler;
import org.quartz.Trigger;
import org.quartz.TriggerBuilder;
import org.quartz.TriggerKey;
import org.springframework.batch.core.BatchStatus;
import org.springframework.batch.core.launch.JobOperator;
import org.springframework.batch.core.repository.JobRepository;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.transaction.PlatformTransactionManager;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "scheduler", description = {"Run scheduled jobs (those with schedule.cron) in their maintenance windows, until",
        "stopped (SIGTERM or Ctrl-C stop the running jobs gracefully first). Quartz runs clustered in schema pgrewrite:",
        "start one on several machines and each trigger runs once. Serves /actuator/health and /actuator/prometheus."})
final class SchedulerCommand extends DbCommand {

    static final String GROUP = "pgrewrite";
    private static final AtomicInteger INSTANCES = new AtomicInteger();

    @Parameters(arity = "0..*", paramLabel = "JOB.yaml", description = "Job definitions (default: every *.yaml in --jobs-dir with a schedule)")
    List<Path> files = new ArrayList<>();

    @Option(names = "--jobs-dir", defaultValue = "jobs", description = "Where to look for job definitions (default: ${DEFAULT-VALUE})")
    Path jobsDir;

    @Option(names = "--http-port", defaultValue = "8080", description = "Port of /actuator/health and /actuator/prometheus (default: ${DEFAULT-VALUE}); 0 picks a free one")
    int httpPort;

    @Option(names = "--no-http", description = "Do not serve HTTP")
    boolean noHttp;

    @Option(names = "--run-for", description = "Stop after this long (ISO-8601, e.g. PT8H), gracefully like SIGTERM")
    Duration runFor;

    @Option(names = "--exit-when-done", description = "Exit once every scheduled job has completed, was abandoned, or waits for an operator (relaunch limit reached)")
    boolean exitWhenDone;

    @Option(names = "--check-in", defaultValue = "PT5S", hidden = true, description = "Quartz cluster check-in interval")
    Duration checkIn;

    private final List<JobDefinition> definitions = new ArrayList<>();
    private final CountDownLatch shutdown = new CountDownLatch(1);
    private final CountDownLatch stopped = new CountDownLatch(1);

    @Override
    void beforeContext() {
        List<Path> paths = new ArrayList<>(files);
        if (paths.isEmpty()) {
            try (Stream<Path> s = Files.list(jobsDir)) {
                s.filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml")).sorted().forEach(paths::add);
            } catch (IOException e) {
                throw new IllegalStateException("Cannot read " + jobsDir + ": " + e.getMessage() + ". Give job files or --jobs-dir.", e);
            }
        }
        for (Path p : paths) {
            JobDefinition def = JobDefinitions.load(p.toAbsolutePath());
            if (def.schedule() != null) {
                definitions.add(def);
            } else if (!files.isEmpty()) {
                throw new IllegalStateException(p + " has no schedule: section; add schedule.cron or run it with `pgrewrite run`.");
            }
        }
        if (definitions.isEmpty()) {
            throw new IllegalStateException("No job definition with schedule.cron in " + (files.isEmpty() ? jobsDir : files)
                    + ". jobs/passage-nightly.yaml is an example.");
        }
    }

    @Override
    int poolSize() {
        return definitions.stream().mapToInt(d -> io.pgrewrite.job.RewriteJob.connectionsFor(d.workers())).sum() + 6;
    }

    @Override
    Map<String, Object> properties() {
        Map<String, Object> p = new HashMap<>();
        p.put("spring.autoconfigure.exclude", "");
        p.put("spring.quartz.job-store-type", "jdbc");
        p.put("spring.quartz.jdbc.initialize-schema", "never"); // the tables come from sql/migration/V3__quartz.sql
        p.put("spring.quartz.scheduler-name", "pgrewrite");
        p.put("spring.quartz.wait-for-jobs-to-complete-on-shutdown", "true");
        String q = "spring.quartz.properties.org.quartz.";
        p.put(q + "jobStore.isClustered", "true");
        p.put(q + "jobStore.tablePrefix", "pgrewrite.QRTZ_");
        p.put(q + "jobStore.driverDelegateClass", "org.quartz.impl.jdbcjobstore.PostgreSQLDelegate");
        p.put(q + "jobStore.clusterCheckinInterval", String.valueOf(checkIn.toMillis()));
        p.put(q + "jobStore.misfireThreshold", "60000");
        p.put(q + "scheduler.instanceId", instanceId());
        p.put(q + "threadPool.threadCount", String.valueOf(Math.max(1, definitions.size())));
        p.put("pgrewrite.http.enabled", String.valueOf(!noHttp));
        p.put("server.port", String.valueOf(httpPort));
        return p;
    }

    /** Unique in the cluster: host, process, and a counter for several schedulers in one JVM (tests). */
    private static String instanceId() {
        return ManagementFactory.getRuntimeMXBean().getName() + "-" + INSTANCES.incrementAndGet();
    }

    @Override
    int run(ConfigurableApplicationContext ctx, PrintStream out) throws Exception {
        Scheduler scheduler = ctx.getBean(Scheduler.class);
        for (JobDefinition def : definitions) {
            schedule(scheduler, def, out);
        }
        out.printf("Scheduler %s running (instance %s, clustered in schema pgrewrite)%s. Ctrl-C or SIGTERM stops it.%n",
                scheduler.getSchedulerName(), scheduler.getSchedulerInstanceId(),
                noHttp ? "" : "; health and metrics at http://localhost:" + ctx.getEnvironment().getProperty("local.server.port",
                        String.valueOf(httpPort)) + "/actuator/prometheus");
        Thread hook = new Thread(() -> {
            shutdown.countDown();
            try {
                stopped.await(10, TimeUnit.MINUTES);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "scheduler-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            long until = runFor == null ? Long.MAX_VALUE : System.nanoTime() + runFor.toNanos();
            while (!shutdown.await(1, TimeUnit.SECONDS) && System.nanoTime() < until) {
                if (exitWhenDone && allDone(ctx)) {
                    out.println("Every scheduled job has completed or waits for an operator.");
                    break;
                }
            }
            stopGracefully(ctx, scheduler, out);
        } finally {
            stopped.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // already shutting down
            }
        }
        return ExitCodes.OK;
    }

    /** Registers (or updates) the job and its cron trigger; an unchanged trigger is left alone, keeping its misfires. */
    static void schedule(Scheduler scheduler, JobDefinition def, PrintStream out) throws Exception {
        JobDefinition.Schedule s = def.schedule();
        JobKey jobKey = JobKey.jobKey(def.jobKey(), GROUP);
        TriggerKey triggerKey = TriggerKey.triggerKey(def.jobKey(), GROUP);
        JobDetail detail = JobBuilder.newJob(RewriteTrigger.class).withIdentity(jobKey)
                .withDescription("pgrewrite " + def.operation().yamlName() + " of " + def.schema() + "." + def.table())
                .usingJobData(RewriteTrigger.FILE, def.file().toString()).storeDurably().build();
        CronTrigger trigger = TriggerBuilder.newTrigger().withIdentity(triggerKey).forJob(jobKey)
                .withSchedule(CronScheduleBuilder.cronSchedule(s.cron()).inTimeZone(TimeZone.getTimeZone(s.zone()))
                        // A scheduler that was down at the trigger fires at once if the window is not over.
                        .withMisfireHandlingInstructionFireAndProceed())
                .build();
        Trigger existing = scheduler.getTrigger(triggerKey);
        boolean same = existing instanceof CronTrigger c && c.getCronExpression().equals(s.cron())
                && c.getTimeZone().getID().equals(TimeZone.getTimeZone(s.zone()).getID())
                && def.file().toString().equals(scheduler.getJobDetail(jobKey).getJobDataMap().getString(RewriteTrigger.FILE));
        if (!same) {
            scheduler.scheduleJob(detail, java.util.Set.of(trigger), true);
            existing = scheduler.getTrigger(triggerKey);
        }
        out.printf("Scheduled %s: cron \"%s\" (%s), window %s, up to %d relaunches; next at %s%n", def.jobKey(), s.cron(),
                s.zone(), s.window() == null ? "unlimited" : s.window(), s.maxRelaunches(), existing.getNextFireTime());
    }

    private boolean allDone(ConfigurableApplicationContext ctx) {
        JobRunner runner = new JobRunner(ctx.getBean(JobRepository.class), ctx.getBean(JobOperator.class),
                ctx.getBean(PlatformTransactionManager.class), ctx.getBean(DataSource.class), System.out);
        org.springframework.jdbc.core.JdbcTemplate jdbc = new org.springframework.jdbc.core.JdbcTemplate(ctx.getBean(DataSource.class));
        return definitions.stream().allMatch(def -> {
            var e = runner.last(def);
            return e != null && (e.getStatus() == BatchStatus.COMPLETED || e.getStatus() == BatchStatus.ABANDONED
                    || e.getStatus() == BatchStatus.FAILED
                            && !io.pgrewrite.schedule.Relaunches.allowed(def.schedule(), io.pgrewrite.schedule.Relaunches.failures(jdbc, e.getJobInstanceId())));
        });
    }

    private void stopGracefully(ConfigurableApplicationContext ctx, Scheduler scheduler, PrintStream out) throws Exception {
        scheduler.standby(); // no new triggers in this process; the other schedulers of the cluster take them
        RunningJobs running = ctx.getBean(RunningJobs.class);
        ScheduledRun runs = new ScheduledRun(ctx.getBean(JobRepository.class), ctx.getBean(JobOperator.class),
                ctx.getBean(PlatformTransactionManager.class), ctx.getBean(DataSource.class), running, out);
        for (JobDefinition def : running.definitions()) {
            runs.stop(def, "the scheduler is shutting down");
        }
        while (!running.isEmpty()) {
            Thread.sleep(200);
        }
        out.println("Scheduler stopped.");
    }
}
