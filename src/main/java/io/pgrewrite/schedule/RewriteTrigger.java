package io.pgrewrite.schedule;

import java.nio.file.Path;

import javax.sql.DataSource;

import io.pgrewrite.definition.JobDefinition;
import io.pgrewrite.definition.JobDefinitions;
import io.pgrewrite.job.Failures;
import org.quartz.DisallowConcurrentExecution;
import org.quartz.Job;
import org.quartz.JobExecutionContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.batch.core.launch.JobOperator;
import org.springframework.batch.core.repository.JobRepository;
import org.springframework.transaction.PlatformTransactionManager;

/**
 * The Quartz job of one scheduled definition. Non-concurrent: in the cluster, one trigger of a job runs
 * at a time on one scheduler. The definition is read again at every trigger, so a fixed {@code using:}
 * applies to the next night. Created by Spring (constructor injection) through Boot's job factory.
 */
@DisallowConcurrentExecution
public class RewriteTrigger implements Job {

    public static final String FILE = "file";
    private static final Logger log = LoggerFactory.getLogger(RewriteTrigger.class);

    private final ScheduledRun run;

    public RewriteTrigger(JobRepository repository, JobOperator operator, PlatformTransactionManager tm,
            DataSource dataSource, RunningJobs running) {
        this.run = new ScheduledRun(repository, operator, tm, dataSource, running, System.out);
    }

    @Override
    public void execute(JobExecutionContext context) {
        String file = context.getMergedJobDataMap().getString(FILE);
        JobDefinition def;
        try {
            def = JobDefinitions.load(Path.of(file));
        } catch (RuntimeException e) {
            log.error("{}: not started: {}", file, Failures.message(e));
            return;
        }
        if (def.schedule() == null) {
            log.warn("{}: no schedule: in it any more; not started", file);
            return;
        }
        run.run(def, context.getScheduledFireTime().toInstant());
    }
}
