package io.pgrewrite.schedule;

import org.quartz.Scheduler;
import org.quartz.SchedulerException;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.stereotype.Component;

/** {@code /actuator/health} part "scheduler": the Quartz scheduler of this process is started and clustered. */
@Component("scheduler")
@ConditionalOnProperty(name = "pgrewrite.http.enabled", havingValue = "true")
public class SchedulerHealth implements HealthIndicator {

    private final ObjectProvider<Scheduler> scheduler;

    public SchedulerHealth(ObjectProvider<Scheduler> scheduler) {
        this.scheduler = scheduler;
    }

    @Override
    public Health health() {
        Scheduler s = scheduler.getIfAvailable();
        if (s == null) {
            return Health.unknown().withDetail("scheduler", "not in this process").build();
        }
        try {
            Health.Builder b = s.isStarted() && !s.isShutdown() && !s.isInStandbyMode() ? Health.up() : Health.down();
            return b.withDetail("instance", s.getSchedulerInstanceId())
                    .withDetail("clustered", s.getMetaData().isJobStoreClustered())
                    .withDetail("jobs", s.getJobKeys(org.quartz.impl.matchers.GroupMatcher.anyJobGroup()).size())
                    .withDetail("running", s.getCurrentlyExecutingJobs().size()).build();
        } catch (SchedulerException e) {
            return Health.down(e).build();
        }
    }
}
