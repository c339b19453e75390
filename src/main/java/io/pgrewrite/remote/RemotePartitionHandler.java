package io.pgrewrite.remote;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.pgrewrite.plan.PartitionList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.batch.core.BatchStatus;
import org.springframework.batch.core.partition.PartitionHandler;
import org.springframework.batch.core.partition.StepExecutionSplitter;
import org.springframework.batch.core.repository.JobRepository;
import org.springframework.batch.core.step.StepExecution;
import org.springframework.batch.integration.partition.StepExecutionRequest;
import org.springframework.integration.support.MessageBuilder;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.messaging.Message;
import org.springframework.messaging.MessageChannel;

/**
 * The manager's side of remote partitioning: sends one request per partition over the JDBC channel,
 * then polls the JobRepository until every partition has finished. Because the channel delivers at
 * most once, it also watches each attempt: a request that left the channel but whose worker never
 * beat, or a partition whose worker stopped beating for longer than {@code staleness}, is sent again
 * (the partition steps are idempotent, and an advisory lock per partition keeps two workers from
 * running one partition at the same time). A partition a worker stopped on its way out (SIGTERM) is
 * sent again too, unless the job itself is stopping.
 */
public final class RemotePartitionHandler implements PartitionHandler {

    private static final Logger log = LoggerFactory.getLogger(RemotePartitionHandler.class);

    private final MessageChannel requests;
    private final JobRepository repository;
    private final JdbcTemplate jdbc;
    private final Heartbeats heartbeats;
    private final String stepName;
    private final Duration staleness;
    private final Duration pollInterval;

    public RemotePartitionHandler(MessageChannel requests, JobRepository repository, JdbcTemplate jdbc, String stepName,
            Duration staleness, Duration pollInterval) {
        this.requests = requests;
        this.repository = repository;
        this.jdbc = jdbc;
        this.heartbeats = new Heartbeats(jdbc);
        this.stepName = stepName;
        this.staleness = staleness;
        this.pollInterval = pollInterval;
    }

    private static final class Attempt {
        StepExecution execution;
        String messageId;
        long sentAt;
    }

    @Override
    public Collection<StepExecution> handle(StepExecutionSplitter splitter, StepExecution manager) throws Exception {
        List<StepExecution> split = new ArrayList<>(splitter.split(manager, 1));
        split.sort(Comparator.comparingInt((StepExecution s) -> s.getExecutionContext().getInt(PartitionList.ORDER, 0))
                .thenComparing(StepExecution::getStepName));
        Map<Long, Attempt> running = new LinkedHashMap<>();
        for (StepExecution se : split) {
            Attempt a = new Attempt();
            a.execution = se;
            send(a);
            running.put(se.getId(), a);
        }
        List<StepExecution> finished = new ArrayList<>();
        long lastLog = System.nanoTime();
        while (!running.isEmpty()) {
            Thread.sleep(pollInterval.toMillis());
            // JobOperator.stop marks the job STOPPING with an end time, which the JobRepository saves as STOPPED at once:
            // either means a partition its worker stopped stays stopped (else it is sent again, stopped again, forever).
            BatchStatus job = repository.getJobExecution(manager.getJobExecutionId()).getStatus();
            boolean stopping = job == BatchStatus.STOPPING || job == BatchStatus.STOPPED;
            for (var it = running.values().iterator(); it.hasNext(); ) {
                Attempt a = it.next();
                StepExecution se = repository.getStepExecution(manager.getJobExecutionId(), a.execution.getId());
                a.execution = se;
                BatchStatus s = se.getStatus();
                if (s == BatchStatus.COMPLETED || s == BatchStatus.FAILED || s == BatchStatus.ABANDONED
                        || (s == BatchStatus.STOPPED && stopping)) {
                    finished.add(se);
                    it.remove();
                } else if (s == BatchStatus.STOPPED) {
                    log.info("{}: stopped by its worker; sending it again", se.getStepName());
                    send(a);
                } else if (lost(a)) {
                    log.warn("{}: its worker is gone (no heartbeat for {} s); sending it again", se.getStepName(),
                            staleness.toSeconds());
                    heartbeats.done(se.getId());
                    send(a);
                }
            }
            if (System.nanoTime() - lastLog > 30_000_000_000L && !running.isEmpty()) {
                lastLog = System.nanoTime();
                log.info("{} partition(s) still queued or running on workers", running.size());
            }
        }
        return finished;
    }

    /** Taken and never started, or started and no longer beating. */
    private boolean lost(Attempt a) {
        Double age = heartbeats.age(a.execution.getId());
        if (age != null) {
            return age > staleness.toSeconds();
        }
        boolean queued = jdbc.queryForObject(RequestChannel.QUEUED, Long.class, a.messageId) > 0;
        return !queued && System.currentTimeMillis() - a.sentAt > staleness.toMillis();
    }

    private void send(Attempt a) {
        Message<StepExecutionRequest> m = MessageBuilder.withPayload(new StepExecutionRequest(stepName, a.execution.getId()))
                .build();
        a.messageId = String.valueOf(m.getHeaders().getId());
        a.sentAt = System.currentTimeMillis();
        requests.send(m);
    }
}
