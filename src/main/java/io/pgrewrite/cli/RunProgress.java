package io.pgrewrite.cli;

import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.time.Duration;

import javax.sql.DataSource;

import io.pgrewrite.job.Ticker;
import io.pgrewrite.control.JobControls;
import io.pgrewrite.metrics.JobProgress;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * Progress of {@code run} (and {@code demo --run}), read from the database twice a second (the same
 * figures as {@code status}): on a terminal a bar per partition started, labelled with its stage until
 * it is done, and one overall; otherwise a log line every ten seconds ({@code -Dpgrewrite.progress.every=N}
 * seconds, with what holds the run back: paused, throttled, swaps postponed). Both on stderr. The overall rate is this run's own: rows copied since it started over the time
 * since, verification and swaps included, so the ETA holds; partitions are counted from the plan, also
 * before the job has created all of their steps.
 */
final class RunProgress implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger("io.pgrewrite.progress");

    private final JdbcTemplate jdbc;
    private final JobProgress progress;
    private final String jobKey;
    private final Long before;
    private final boolean terminal;
    private final int planned;
    private final long logEvery = Math.max(1, Long.getLong("pgrewrite.progress.every", 10)) * 1_000_000_000L;
    private long lastLog = System.nanoTime() - logEvery;
    private long firstNanos;
    private long firstRows = -1;
    private final Ticker timer = new Ticker("progress");
    private final Map<String, ProgressBar> bars = new HashMap<>();
    private ProgressBar overall;
    private boolean finished;
    private ch.qos.logback.classic.Logger quietened;
    private ch.qos.logback.classic.Level level;

    private RunProgress(DataSource ds, String jobKey, boolean terminal, int planned) {
        this.jdbc = new JdbcTemplate(ds);
        this.progress = new JobProgress(jdbc);
        this.jobKey = jobKey;
        this.before = progress.latest(jobKey);
        this.terminal = terminal;
        this.planned = planned;
    }

    /**
     * Starts showing progress of the job's next execution (or its continued one).
     *
     * @param planned the partitions the plan selected (0 when unknown)
     */
    static RunProgress start(DataSource ds, String jobKey, int planned) {
        RunProgress p = new RunProgress(ds, jobKey, System.console() != null, planned);
        if (p.terminal) {
            // Log lines would break the bars; warnings and errors still show.
            p.quietened = (ch.qos.logback.classic.Logger) LoggerFactory.getLogger("io.pgrewrite");
            p.level = p.quietened.getLevel();
            p.quietened.setLevel(ch.qos.logback.classic.Level.WARN);
        }
        p.timer.every(EVERY, EVERY, p::tick);
        return p;
    }

    /** Starts showing the progress of the definition's job; partitions counted from its plan. */
    static RunProgress start(DataSource ds, io.pgrewrite.definition.JobDefinition def) {
        int planned;
        try {
            planned = new io.pgrewrite.plan.Planner(new JdbcTemplate(ds)).selectedPartitions(def).size();
        } catch (RuntimeException e) {
            planned = 0; // the plan says what is wrong, right after this
        }
        return start(ds, def.jobKey(), planned);
    }

    /** How often the bars are redrawn, and a log line is considered (it reads the database only when one is due). */
    static final Duration EVERY = Duration.ofMillis(500);

    private void tick() {
        if (!terminal && System.nanoTime() - lastLog < logEvery) {
            return; // a line every ten seconds needs no look every half second: each look is six queries
        }
        try {
            Long id = progress.latest(jobKey);
            if (id == null || Objects.equals(id, before)) {
                return;
            }
            JobProgress.Execution e = progress.of(id);
            if (e == null || e.partitions().isEmpty()) {
                return;
            }
            Rates r = rates(e);
            if (terminal) {
                draw(e, r);
            } else if (System.nanoTime() - lastLog >= logEvery && started(e)) {
                lastLog = System.nanoTime();
                log.info("{}{}", line(e, r), controls(e));
            }
        } catch (RuntimeException ex) {
            log.debug("progress: {}", ex.getMessage());
        }
    }

    /** This run's rate: rows copied since the first look over the time since. */
    record Rates(int partitions, double rowsPerSecond, double bytesPerSecond, java.time.Duration eta) {
    }

    private Rates rates(JobProgress.Execution e) {
        long now = System.nanoTime();
        if (firstRows < 0) {
            firstRows = e.rowsDone();
            firstNanos = now;
        }
        double seconds = (now - firstNanos) / 1e9;
        double rate = seconds >= 1 ? (e.rowsDone() - firstRows) / seconds : 0;
        double bytesPerRow = e.rowsDone() > 0 ? e.partitions().stream().mapToDouble(JobProgress.Partition::bytesDone).sum() / e.rowsDone() : 0;
        long remaining = Math.max(0, e.rowsTotal() - e.rowsDone());
        java.time.Duration eta = rate > 0 ? java.time.Duration.ofSeconds(Math.round(remaining / rate))
                : remaining == 0 ? java.time.Duration.ZERO : null;
        return new Rates(Math.max(planned, e.partitions().size()), rate, rate * bytesPerRow, eta);
    }

    /** What holds the run back (paused, throttled, swaps postponed, keys set), for the log line; one query. */
    private String controls(JobProgress.Execution e) {
        try {
            String held = new JobControls(jdbc).state(e.id(), e.jobKey()).describe();
            return held == null ? "" : "; " + held;
        } catch (RuntimeException ex) {
            log.debug("progress: controls: {}", ex.getMessage());
            return ""; // the line without them rather than none
        }
    }

    private static boolean started(JobProgress.Execution e) {
        return e.rowsDone() > 0 || e.partitions().stream().anyMatch(p -> !p.state().equals(JobProgress.PENDING));
    }

    /** The log form: partitions by stage, rows, this run's rate and the ETA. */
    static String line(JobProgress.Execution e, Rates r) {
        StringBuilder stages = new StringBuilder();
        e.counts().forEach((stage, n) -> {
            if (n > 0 && !stage.equals(JobProgress.DONE) && !stage.equals(JobProgress.PENDING)) {
                stages.append(", ").append(n).append(' ').append(stage);
            }
        });
        return String.format("%s: %d of %d partitions done%s; %d of ~%d rows (%.0f%%); %s; ETA %s", e.jobKey(),
                e.counts().get(JobProgress.DONE), r.partitions(), stages, e.rowsDone(), Math.max(e.rowsTotal(), e.rowsDone()),
                e.rowsTotal() > 0 ? 100.0 * Math.min(e.rowsDone(), e.rowsTotal()) / e.rowsTotal() : 0.0,
                r.rowsPerSecond() > 0 ? String.format("%.0f rows/s, %.1f MB/s", r.rowsPerSecond(), r.bytesPerSecond() / 1e6)
                        : "measuring the rate",
                r.eta() == null ? "when the rate is known" : StatusCommand.eta(r.eta()));
    }

    private synchronized void draw(JobProgress.Execution e, Rates r) {
        if (finished) {
            return;
        }
        if (overall == null) {
            overall = bar("total", Math.max(1, e.rowsTotal()));
        }
        overall.maxHint(Math.max(e.rowsTotal(), e.rowsDone()));
        overall.stepTo(e.rowsDone());
        overall.setExtraMessage(String.format(" %d/%d done, %s", e.counts().get(JobProgress.DONE), r.partitions(),
                r.rowsPerSecond() > 0 ? String.format("%.0f rows/s, %.1f MB/s", r.rowsPerSecond(), r.bytesPerSecond() / 1e6) : "-"));
        for (JobProgress.Partition p : e.partitions()) {
            if (p.state().equals(JobProgress.PENDING)) {
                continue;
            }
            ProgressBar b = bars.get(p.name());
            if (b == null && !bars.containsKey(p.name())) {
                b = bar(p.name(), Math.max(p.rowsTotal(), 1));
                bars.put(p.name(), b);
            }
            if (b != null) {
                b.maxHint(Math.max(Math.max(p.rowsTotal(), p.rowsDone()), 1));
                b.stepTo(p.rowsDone());
                // Its stage until it is settled: a copied partition is verifying or swapping, then done.
                b.setExtraMessage(" " + p.state());
                boolean settled = p.state().equals(JobProgress.DONE) || p.state().equals(JobProgress.FAILED)
                        || p.state().equals(JobProgress.STOPPED);
                if (settled) {
                    if (p.state().equals(JobProgress.DONE)) {
                        b.stepTo(Math.max(Math.max(p.rowsTotal(), p.rowsDone()), 1));
                    }
                    b.refresh();
                    b.close();
                    bars.put(p.name(), null);
                }
            }
        }
        int settled = e.counts().get(JobProgress.DONE) + e.counts().get(JobProgress.FAILED) + e.counts().get(JobProgress.STOPPED);
        if (settled == r.partitions()) {
            closeBars(); // before contract and report print below them
        }
    }

    /**
     * The command's output, which first puts the bars away once they were shown: the job prints its report
     * through it as soon as the last partition is done, maybe before the next look at the database.
     */
    java.io.PrintStream wrap(java.io.PrintStream out) {
        return new java.io.PrintStream(new java.io.FilterOutputStream(out) {
            @Override
            public void write(int b) throws java.io.IOException {
                settle();
                out.write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) throws java.io.IOException {
                settle();
                out.write(b, off, len);
            }
        }, true, java.nio.charset.StandardCharsets.UTF_8);
    }

    private synchronized void settle() {
        if (overall != null) {
            lastLook();
            closeBars();
        }
    }

    /** The bars as the job ended, not as of the last look up to half a second before (e.g. "8/13 done" at 100 %). */
    private void lastLook() {
        try {
            Long id = progress.latest(jobKey);
            JobProgress.Execution e = id == null || Objects.equals(id, before) ? null : progress.of(id);
            if (e != null && !e.partitions().isEmpty()) {
                draw(e, rates(e));
            }
        } catch (RuntimeException ex) {
            log.debug("progress: {}", ex.getMessage());
        }
    }

    private synchronized void closeBars() {
        finished = true;
        bars.values().stream().filter(Objects::nonNull).forEach(ProgressBar::close);
        bars.clear();
        if (overall != null) {
            overall.close();
            overall = null;
        }
    }

    private static ProgressBar bar(String name, long max) {
        return new ProgressBarBuilder().setTaskName(name).setInitialMax(max).setUnit(" rows", 1).showSpeed()
                .setStyle(ProgressBarStyle.COLORFUL_UNICODE_BLOCK).setUpdateIntervalMillis(500).continuousUpdate().build();
    }

    @Override
    public void close() {
        timer.close();
        closeBars();
        if (quietened != null) {
            quietened.setLevel(level);
        }
    }
}
