package io.pgrewrite.job;

import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.util.Optional;
import java.util.function.BooleanSupplier;

import io.pgrewrite.control.JobControls;
import io.pgrewrite.control.JobControls.Latest;
import io.pgrewrite.control.JobControls.State;
import io.pgrewrite.definition.JobDefinition;
import io.pgrewrite.definition.RuntimeSettings;
import io.pgrewrite.definition.TimeWindow;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * What the operator and the throttle ask of the job's latest execution, as stored in the database
 * ({@link JobControls}): read at most once a second for all partition threads of the process (one
 * query, which also gives {@link StopRequest} the execution's status). Copies hold at their chunk
 * boundary while it is paused or throttled ({@link StopRequest#checkInterrupted}); a swap does not start
 * while swaps are postponed, the job is throttled, or the clock is outside {@code swap.window}
 * ({@link #awaitSwap}).
 */
final class Steering {

    private static final Logger log = LoggerFactory.getLogger(Steering.class);
    private static final long POLL_NANOS = 1_000_000_000L;
    static final Duration WAIT_STEP = Duration.ofMillis(250);

    private final JobControls controls;
    private final JobDefinition definition;
    private long checkedAt;
    private Latest latest;

    Steering(JdbcTemplate jdbc, JobDefinition definition) {
        this.controls = new JobControls(jdbc);
        this.definition = definition;
    }

    /** The latest execution's status and controls, polled at most once a second. */
    synchronized Optional<Latest> latest() {
        if (checkedAt == 0 || System.nanoTime() - checkedAt > POLL_NANOS) {
            checkedAt = System.nanoTime();
            latest = controls.latest(definition.jobKey()).orElse(null);
        }
        return Optional.ofNullable(latest);
    }

    /** The status of the job's latest execution in the JobRepository, or null when it never ran. */
    String status() {
        return latest().map(Latest::status).orElse(null);
    }

    State controls() {
        return latest().map(l -> freshThrottle(l.controls())).orElse(null);
    }

    /** The definition with the operator's {@code set} over it. */
    JobDefinition definition() {
        State s = controls();
        return s == null ? definition : RuntimeSettings.apply(definition, s.settings());
    }

    /**
     * The throttle's verdict is written by the process running the execution; a verdict not renewed for a
     * long time (that process died) holds nobody back.
     */
    private State freshThrottle(State s) {
        if (s.throttled() == null || s.sampledAt() == null) {
            return s;
        }
        Duration every = RuntimeSettings.apply(definition, s.settings()).throttle().checkEvery();
        Instant stale = Instant.now().minus(every.multipliedBy(10).plusSeconds(60));
        return s.sampledAt().isBefore(stale) ? new State(s.executionId(), s.jobKey(), s.paused(), s.swapPostponed(),
                s.settings(), null, s.sampledAt(), s.updatedAt(), s.updatedBy()) : s;
    }

    /** Why copies hold at their chunk boundary now, or null. */
    String copyHeldBy() {
        State s = controls();
        if (s == null || !s.copyHeld()) {
            return null;
        }
        return s.paused() ? "paused by an operator (`pgrewrite resume " + s.executionId() + "`)"
                : "throttled: " + s.throttled().describe();
    }

    /** Why a swap may not start now, or null. */
    String swapHeldBy() {
        State s = controls();
        String held = s == null ? null : s.swapHeldBy();
        if (held == null && s != null && s.paused()) {
            held = "paused by an operator (`pgrewrite resume " + s.executionId() + "`)";
        }
        if (held != null) {
            return held;
        }
        JobDefinition def = definition();
        TimeWindow window = def.swap().window();
        if (window != null && !window.contains(ZonedDateTime.now(def.zone()))) {
            return "outside swap.window " + window + " (" + def.zone() + ")";
        }
        return null;
    }

    /**
     * Waits while a swap may not start (logging why when that changes); returns false when a stop was
     * asked for meanwhile (the swap must not start then either).
     */
    boolean awaitSwap(String partition, BooleanSupplier stop) throws InterruptedException {
        String logged = null;
        for (String why = swapHeldBy(); why != null; why = swapHeldBy()) {
            if (stop.getAsBoolean()) {
                return false;
            }
            if (!same(why, logged)) {
                log.info("{}: copied and verified; the swap waits: {}", partition, why);
                logged = why;
            }
            Thread.sleep(WAIT_STEP.toMillis());
        }
        if (logged != null) {
            log.info("{}: the swap goes on", partition);
        }
        return !stop.getAsBoolean();
    }

    /** The same reason, whatever the signal's value now: worth no new log line. */
    static boolean same(String why, String before) {
        return before != null && why.replaceAll("[0-9][0-9.:TZ-]*", "#").equals(before.replaceAll("[0-9][0-9.:TZ-]*", "#"));
    }
}
