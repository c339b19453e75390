package io.pgrewrite.cli;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

import javax.management.ObjectName;

/**
 * The JIT of a long-running command (run, restart, worker, scheduler, demo), set from inside the process:
 * C1 only. pgrewrite mostly waits on PostgreSQL, which needs the cores. Measured on 10 x 100 000 rows
 * (PostgreSQL 15, 2 cores): with the JVM's default the process used 11.5-15.2 s of CPU per run, of which
 * the C2 compiler threads 5.0-6.9 s (two thirds of it while Spring started, the rest during the copy);
 * with C1 only 6.6-8.1 s, C2 0.2 s, and the main thread's start-up CPU unchanged (3.6 s).
 *
 * <p>A jar cannot carry JVM options, so this asks HotSpot what {@code jcmd PID Compiler.directives_add}
 * would ask: exclude every method from C2. HotSpot then compiles what C2 would have taken at tier 1 (C1,
 * full optimisation, no profiling). Done on a thread of its own (the management server takes 0.1-0.4 s
 * to start), while Spring starts. {@code -Dpgrewrite.c2=true} keeps the JVM's default; a JVM without the
 * DiagnosticCommand MBean keeps it too.
 */
public final class CompilerMode {

    static final Set<String> COMMANDS = Set.of("run", "restart", "worker", "scheduler", "demo");

    /** What the archive's JVM is started with (see {@link ArchivedJvm#defaults}): C1 only, no directive needed. */
    static final String TIER_1_ONLY = "-XX:TieredStopAtLevel=1";

    /** Every method: never C2, so tier 1 instead. */
    static final String NO_C2 = "[{match: \"*.*\", c2: {Exclude: true}}]";

    private CompilerMode() {
    }

    /** C1 only for the commands that run long; others (status, plan, the controls) start and end too soon to care. */
    public static void forCommand(String[] args) {
        if (args.length == 0 || !COMMANDS.contains(args[0]) || Boolean.getBoolean("pgrewrite.c2")
                || ManagementFactory.getRuntimeMXBean().getInputArguments().contains(TIER_1_ONLY)) {
            return;
        }
        Thread t = new Thread(CompilerMode::c1Only, "pgrewrite-jit");
        t.setDaemon(true);
        t.start();
    }

    /** Adds the directive; returns whether HotSpot took it. */
    static boolean c1Only() {
        try {
            Path file = Files.createTempFile("pgrewrite-jit", ".json");
            try {
                Files.writeString(file, NO_C2);
                Object r = ManagementFactory.getPlatformMBeanServer().invoke(
                        new ObjectName("com.sun.management:type=DiagnosticCommand"), "compilerDirectivesAdd",
                        new Object[] {new String[] {file.toString()}}, new String[] {String[].class.getName()});
                return String.valueOf(r).contains("added");
            } finally {
                Files.deleteIfExists(file);
            }
        } catch (Exception | LinkageError e) {
            return false; // not HotSpot, or no management: the JVM's default, nothing lost but CPU
        }
    }
}
