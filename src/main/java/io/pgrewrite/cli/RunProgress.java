package io.pgrewrite.cli;

import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import javax.sql.DataSource;

import io.pgrewrite.metrics.JobProgress;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * Progress of {@code run}, read from the database once a second (the same figures as {@code status}):
 * on a terminal a bar per partition copying and one overall (rows, MB/s, ETA); otherwise a log line
 * every ten seconds.
 */
final class RunProgress implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger("io.pgrewrite.progress");

    private final JobProgress progress;
    private final String jobKey;
    private final Long before;
    private final boolean terminal;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "progress");
        t.setDaemon(true);
        return t;
    });
    private final Map<String, ProgressBar> bars = new HashMap<>();
    private ProgressBar overall;
    private long ticks;
    private boolean finished;
    private ch.qos.logback.classic.Logger quietened;
    private ch.qos.logback.classic.Level level;

    private RunProgress(DataSource ds, String jobKey, boolean terminal) {
        this.progress = new JobProgress(new JdbcTemplate(ds));
        this.jobKey = jobKey;
        this.before = progress.latest(jobKey);
        this.terminal = terminal;
    }

    /** Starts showing progress of the job's next execution (or its continued one). */
    static RunProgress start(DataSource ds, String jobKey) {
        RunProgress p = new RunProgress(ds, jobKey, System.console() != null);
        if (p.terminal) {
            // Log lines would break the bars; warnings and errors still show.
            p.quietened = (ch.qos.logback.classic.Logger) LoggerFactory.getLogger("io.pgrewrite");
            p.level = p.quietened.getLevel();
            p.quietened.setLevel(ch.qos.logback.classic.Level.WARN);
        }
        p.timer.scheduleWithFixedDelay(p::tick, 500, 500, TimeUnit.MILLISECONDS);
        return p;
    }

    private void tick() {
        try {
            Long id = progress.latest(jobKey);
            if (id == null || Objects.equals(id, before)) {
                return;
            }
            JobProgress.Execution e = progress.of(id);
            if (e == null || e.partitions().isEmpty()) {
                return;
            }
            if (terminal) {
                draw(e);
            } else if (ticks++ % 20 == 0) {
                log.info("{}: {} of {} partitions done, {} copying; {} of ~{} rows; {} rows/s, {} MB/s; copy ETA {}", jobKey,
                        e.counts().get(JobProgress.DONE), e.partitions().size(), e.counts().get(JobProgress.COPYING),
                        e.rowsDone(), e.rowsTotal(), Math.round(e.rowsPerSecond()),
                        String.format("%.1f", e.bytesPerSecond() / 1e6), e.eta() == null ? "-" : StatusCommand.eta(e.eta()));
            }
        } catch (RuntimeException ex) {
            log.debug("progress: {}", ex.getMessage());
        }
    }

    private synchronized void draw(JobProgress.Execution e) {
        if (finished) {
            return;
        }
        if (overall == null) {
            overall = bar("total", e.rowsTotal());
        }
        overall.maxHint(Math.max(e.rowsTotal(), e.rowsDone()));
        overall.stepTo(e.rowsDone());
        overall.setExtraMessage(String.format(" %d/%d done, %.1f MB/s", e.counts().get(JobProgress.DONE), e.partitions().size(),
                e.bytesPerSecond() / 1e6));
        for (JobProgress.Partition p : e.partitions()) {
            ProgressBar b = bars.get(p.name());
            if (b == null && p.state().equals(JobProgress.COPYING)) {
                b = bar(p.name(), Math.max(p.rowsTotal(), 1));
                bars.put(p.name(), b);
            }
            if (b != null) {
                b.maxHint(Math.max(p.rowsTotal(), p.rowsDone()));
                b.stepTo(p.rowsDone());
                b.setExtraMessage(" " + p.state());
                if (!p.state().equals(JobProgress.COPYING)) {
                    b.stepTo(Math.max(p.rowsTotal(), p.rowsDone()));
                    b.close();
                    bars.put(p.name(), null);
                }
            }
        }
        int settled = e.counts().get(JobProgress.DONE) + e.counts().get(JobProgress.FAILED) + e.counts().get(JobProgress.STOPPED);
        if (settled == e.partitions().size()) {
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
            closeBars();
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
        timer.shutdownNow();
        try {
            timer.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        closeBars();
        if (quietened != null) {
            quietened.setLevel(level);
        }
    }
}
