package io.pgrewrite.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

/**
 * {@code pgrewrite run} is started as {@code java -jar pgrewrite.jar run …}, with no JVM options: the
 * process itself asks HotSpot for C1 only. A method hot enough for C2 is compiled at tier 1 instead, and
 * C2 never compiles it (on a 10 x 100 000 run C2 took 5 s of the JVM's 12 s of CPU).
 */
class CompilerModeTest {

    /** What a long command does first, then hot code. */
    public static final class Hot {
        public static void main(String[] args) {
            System.out.println("directive " + CompilerMode.c1Only());
            long s = 0;
            for (int i = 0; i < 300_000; i++) {
                s += spin(i);
            }
            System.out.println("sum " + s);
        }

        static long spin(long x) {
            long s = 0;
            for (int i = 0; i < 1000; i++) {
                s += (x * i) ^ (s >>> 3);
            }
            return s;
        }
    }

    /** The garbage collectors of this JVM, then hot code: as the archive's JVM runs a command. */
    public static final class Collectors {
        public static void main(String[] args) {
            System.out.println("collectors " + java.lang.management.ManagementFactory.getGarbageCollectorMXBeans().stream()
                    .map(java.lang.management.GarbageCollectorMXBean::getName).toList());
            Hot.main(args);
        }
    }

    /**
     * The JVM that runs a command with the class data sharing archive is started with C1 only from the start (no
     * profiled tier-3 code compiled first and again later) and the serial collector, unless the operator chose.
     */
    @Test
    void theArchivesJvmRunsC1OnlyWithTheSerialCollector() throws Exception {
        List<String> defaults = ArchivedJvm.defaults(List.of("-Xmx512m"));
        assertThat(defaults).containsExactly("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC");
        assertThat(ArchivedJvm.defaults(List.of("-XX:+UseG1GC", "-Dpgrewrite.c2=true"))).isEmpty();
        assertThat(ArchivedJvm.defaults(List.of("-XX:TieredStopAtLevel=4"))).containsExactly("-XX:+UseSerialGC");

        List<String> cmd = new java.util.ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:+PrintCompilation"));
        cmd.addAll(defaults);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Collectors.class.getName()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(out).contains("collectors [Copy, MarkSweepCompact]");
        List<String> spin = out.lines().filter(l -> l.contains("CompilerModeTest$Hot::spin")).toList();
        // PrintCompilation: "<ms> <id> [flags] <tier> <method>"; tier 3 is C1 with profiling, 4 is C2
        assertThat(spin).as(out.lines().filter(l -> l.contains("Hot::")).toList().toString())
                .anyMatch(l -> l.matches("^\\s*\\d+\\s+\\d+ .*\\s1\\s+io\\.pgrewrite\\.cli\\.CompilerModeTest\\$Hot::spin.*"))
                .noneMatch(l -> l.matches("^\\s*\\d+\\s+\\d+ .*\\s[34]\\s+io\\.pgrewrite\\.cli\\.CompilerModeTest\\$Hot::spin.*"));
    }

    @Test
    void hotCodeIsCompiledByC1Only() throws Exception {
        Process p = new ProcessBuilder(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:+PrintCompilation", "-cp", System.getProperty("java.class.path"), Hot.class.getName()))
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        List<String> spin = out.lines().filter(l -> l.contains("CompilerModeTest$Hot::spin")).toList();
        assertThat(out).contains("directive true");
        // PrintCompilation: "<ms> <id> [flags] <tier> <method>"; tier 4 is C2
        assertThat(spin).as(out.lines().filter(l -> l.contains("Hot::")).toList().toString())
                .anyMatch(l -> l.matches("^\\s*\\d+\\s+\\d+ .*\\s1\\s+io\\.pgrewrite\\.cli\\.CompilerModeTest\\$Hot::spin.*"))
                .noneMatch(l -> l.matches("^\\s*\\d+\\s+\\d+ .*\\s4\\s+io\\.pgrewrite\\.cli\\.CompilerModeTest\\$Hot::spin.*"));
    }
}
