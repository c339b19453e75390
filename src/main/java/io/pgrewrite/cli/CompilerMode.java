package io.pgrewrite.cli;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

import javax.management.ObjectName;

/**
 * The JIT of a long-running command (run, restart, worker, scheduler, demo), set from inside the process:
 * C1 only. pgrewrite mostly waits on PostgreSQL, which needs the cores. Measured on a 10 x 100 000 run with
 * one worker: the JVM used 12.1 s of CPU, of which the C2 compiler threads 5.0 s and C1 1.4 s, against
 * 0.6 s for the partition thread; with C1 only the JVM used 5.5 s, and start-up did not get slower.
 *
 * <p>A jar cannot carry JVM options, so this asks HotSpot what {@code jcmd PID Compiler.directives_add}
 * would ask: exclude every method from C2. HotSpot then compiles what C2 would have taken at tier 1 (C1,
 * full optimisation, no profiling). Done on a thread of its own (the management server takes 0.1-0.4 s
 * to start), while Spring starts. {@code -Dpgrewrite.c2=true} keeps the JVM's default; a JVM without the
 * DiagnosticCommand MBean keeps it too.
 */
public final class CompilerMode {

    static final Set<String> COMMANDS = Set.of("run", "restart", "worker", "scheduler", "demo");

    /** Every method: never C2, so tier 1 instead. */
    static final String NO_C2 = "[{match: \"*.*\", c2: {Exclude: true}}]";

    private CompilerMode() {
    }

    /** C1 only for the commands that run long; others (status, plan, the controls) start and end too soon to care. */
    public static void forCommand(String[] args) {
        if (args.length == 0 || !COMMANDS.contains(args[0]) || Boolean.getBoolean("pgrewrite.c2")) {
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
