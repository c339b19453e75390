package io.pgrewrite.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.JvmProcess;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A new user tries {@code demo --run} with its output going to a file, as under cron: progress lines
 * on stderr count every partition of the plan from the first line on (not only those whose steps exist
 * yet), and show the run's real rate and an ETA once it is measured, never "0 rows/s". stdout has the
 * plan and the report only.
 */
class ProgressOutputTest {

    static final Pattern LINE = Pattern.compile("(\\d+) of (\\d+) partitions done.*; (\\d+) of ~(\\d+) rows .*; (.*); ETA (.*)$");

    @TempDir
    Path dir;

    @Test
    void demoRunShowsProgressWithRatesAndAllPartitions() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("progress");
        Path job = dir.resolve("slow.yaml");
        Files.writeString(job, "name: slow\ntable: pv\noperation: compact\nworkers: 1\ncopy:\n  chunk-rows: 300\n  pause: 150ms\n");
        List<String> args = new ArrayList<>(List.of("demo", "--days", "3", "--rows-per-day", "3000", "--table", "pv",
                "--run", job.toString()));
        args.addAll(List.of(db.cliOptions()));
        CliRun demo = JvmProcess.runToEnd(List.of("-Dpgrewrite.progress.every=1"),
                Map.of("PGREWRITE_LOG_FILE", dir.resolve("log").toString()), 600, args.toArray(String[]::new));
        assertThat(demo.exitCode()).as(demo.toString()).isZero();

        List<String> progress = demo.err().lines().filter(l -> l.contains(" partitions done")).toList();
        System.out.println(String.join("\n", progress));
        assertThat(progress).as(demo.err()).hasSizeGreaterThanOrEqualTo(3);
        boolean rate = false;
        for (String l : progress) {
            Matcher m = LINE.matcher(l);
            assertThat(m.find()).as(l).isTrue();
            assertThat(m.group(2)).as(l).isEqualTo("8"); // 3 days and 5 future days
            assertThat(l).doesNotContain(" 0 rows/s", "ETA -");
            rate |= m.group(5).matches("[1-9]\\d* rows/s, .* MB/s") && m.group(6).matches("\\d+(s|m\\d\\ds|h\\d\\dm)");
        }
        assertThat(rate).as("a line with a measured rate and ETA").isTrue();
        assertThat(demo.out()).contains("Created public.pv", "Preconditions:", "Execution ").doesNotContain("partitions done");
    }
}
