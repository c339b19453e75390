package io.pgrewrite.cli;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import sun.misc.Signal;

/**
 * The commands that start the Spring context, in a JVM of their own that maps a class data sharing archive of
 * this build (AppCDS, {@code -XX:SharedArchiveFile}): on PostgreSQL 15 and 2 cores it halved the CPU time from
 * launch until the job began. JDK 17 reads such an archive only when the JVM starts, hence the second JVM; this
 * one waits for it, hands it the same JVM options, streams (inherited), working directory and environment, and
 * exits with its exit code. SIGTERM, SIGINT and SIGHUP sent to this process go on to that JVM (it stops the way a
 * single process would, and this one exits when it has); when this process dies (kill -9), that JVM ends at once
 * too, as the single process would have.
 *
 * <p>The archive is made by the first such command of a build whose Spring context starts (on JDK 17:
 * {@code -XX:ArchiveClassesAtExit}, which writes it when that JVM exits, a few seconds once), checked by mapping it
 * in a JVM that prints the version,
 * and only then renamed into place next to the unpacked classes, named after the JVM that made it; a JVM whose
 * options do not fit it (or another JDK) runs without it, silently. Where this JVM runs with an agent, its own
 * archive options or options from the environment ({@code JAVA_TOOL_OPTIONS}, which the second JVM would read
 * again), or where no JVM can be started, the command runs here as before.
 */
final class ArchivedJvm {

    /** Set on the archive's JVM: the pid of the process that started it and waits for it. */
    static final String LAUNCHER_PROPERTY = "pgrewrite.launcher.pid";

    /**
     * Set on a JVM that writes the archive when it exits: the file it creates once its Spring context has started.
     * An archive of a command that ended before (a bad definition, {@code --help}) would hold too few classes to
     * help the next ones: it is not kept, and the next command makes another.
     */
    static final String TRAINED_PROPERTY = "pgrewrite.archive.trained";

    /** JVM options that must not be given twice or that bring their own archive: run in this JVM instead. */
    private static final List<String> OWN_JVM_ONLY = List.of("-agentlib", "-agentpath", "-javaagent", "-Xshare", "-XX:SharedArchiveFile",
            "-XX:ArchiveClassesAtExit", "-XX:SharedClassListFile", "-XX:DumpLoadedClassList", "-XX:+AutoCreateSharedArchive",
            "-XX:Flags", "-XX:VMOptionsFile", "-Xdebug", "-Xrun");

    private static final List<String> OPTIONS_FROM_ENVIRONMENT = List.of("JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS", "_JAVA_OPTIONS");

    private ArchivedJvm() {
    }

    /**
     * Runs the command in a JVM with the archive and returns its exit code, or null where that does not apply.
     *
     * @param train whether a JVM without the archive may run it and write the archive (commands that start Spring);
     *     otherwise (status, plan) null where there is no archive yet
     */
    static Integer run(Path unpacked, String[] args, boolean train) {
        if (!train && !Files.isRegularFile(unpacked.resolve(archiveName()))) {
            return null;
        }
        return run(unpacked, ManagementFactory.getRuntimeMXBean().getInputArguments(), args, train);
    }

    /** @param jvmOptions this JVM's options, which the archive's JVM gets too */
    static Integer run(Path unpacked, List<String> jvmOptions, String[] args, boolean train) {
        Path appJar = unpacked.resolve(UnpackedJar.APP_JAR);
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        if (!applies(jvmOptions, System.getenv()) || !Files.isRegularFile(appJar) || !Files.isExecutable(java)) {
            return null;
        }
        Path archive = unpacked.resolve(archiveName());
        if (!train && !Files.isRegularFile(archive)) {
            return null;
        }
        Path training = null;
        List<String> cmd = new ArrayList<>();
        cmd.add(java.toString());
        cmd.addAll(jvmOptions);
        cmd.addAll(defaults(jvmOptions));
        // The JVM's own messages about the archive (one it cannot use, one it could not write) would land on
        // stdout; a run without the archive is the same run, only slower.
        cmd.add("-Xlog:cds*=off");
        cmd.add("-Xshare:auto");
        if (Files.isRegularFile(archive)) {
            cmd.add("-XX:SharedArchiveFile=" + archive);
        } else if (Files.isWritable(unpacked)) {
            training = unpacked.resolve(archive.getFileName() + "." + ProcessHandle.current().pid() + ".tmp");
            cmd.add("-XX:ArchiveClassesAtExit=" + training);
        }
        Path trained = training == null ? null : Path.of(training + ".trained");
        if (trained != null) {
            cmd.add("-D" + TRAINED_PROPERTY + "=" + trained);
        }
        cmd.add("-D" + LAUNCHER_PROPERTY + "=" + ProcessHandle.current().pid());
        cmd.add("-jar");
        cmd.add(appJar.toString());
        cmd.addAll(List.of(args));
        Process child;
        try {
            child = new ProcessBuilder(cmd).inheritIO().start();
        } catch (IOException | RuntimeException e) {
            return null; // in this JVM, as before
        }
        forwardSignals(child);
        int code = waitFor(child);
        if (training != null) {
            keep(training, trained, archive, jvmOptions, appJar, java, code);
        }
        return code;
    }

    /**
     * The JVM options pgrewrite picks for the archive's JVM where the operator picked none of that kind (a jar
     * cannot carry them; this JVM can pass them on). C1 only from the start ({@code -XX:TieredStopAtLevel=1}):
     * {@link CompilerMode}'s directive, which this makes unnecessary, only keeps C2 away, so hot methods were
     * compiled twice by C1, first with profiling code that ran meanwhile. The serial collector: pgrewrite's heap is
     * small and short-lived, G1's concurrent threads are CPU the database could use. Measured on 100 days x 1 000
     * rows (PostgreSQL 15, 2 cores, loaded): the JVM's CPU per run 6.8-7.1 s with the directive and G1, 5.4-6.2 s
     * with tier 1 only, 5.1-5.7 s with tier 1 and the serial collector (C1's compile time 1.7 s to 1.2 s, the
     * worker thread's CPU per partition 23 to 19 ms). {@code -Dpgrewrite.c2=true} keeps the JVM's compilers.
     */
    static List<String> defaults(List<String> jvmOptions) {
        List<String> d = new ArrayList<>();
        boolean jit = jvmOptions.stream().anyMatch(o -> o.startsWith("-XX:TieredStopAtLevel") || o.contains("TieredCompilation")
                || o.equals("-Xint") || o.equals("-Xcomp") || o.startsWith("-Dpgrewrite.c2="));
        if (!jit) {
            d.add(CompilerMode.TIER_1_ONLY);
        }
        if (jvmOptions.stream().noneMatch(o -> o.matches("-XX:[+-]Use\\w*GC"))) {
            d.add("-XX:+UseSerialGC");
        }
        return d;
    }

    static boolean applies(List<String> jvmOptions, Map<String, String> env) {
        for (String o : jvmOptions) {
            for (String own : OWN_JVM_ONLY) {
                if (o.startsWith(own)) {
                    return false;
                }
            }
        }
        return OPTIONS_FROM_ENVIRONMENT.stream().noneMatch(v -> env.get(v) != null && !env.get(v).isBlank());
    }

    /** One archive per JVM build: a JDK update makes a new one instead of being refused the old one. */
    static String archiveName() {
        String jvm = System.getProperty("java.home") + "|" + System.getProperty("java.vm.version") + "|" + System.getProperty("java.vm.name");
        return "cds-" + Integer.toHexString(jvm.hashCode()) + ".jsa";
    }

    /**
     * The archive a JVM wrote when it exited, renamed into place once a JVM started with it (-Xshare:on, which
     * refuses a broken archive instead of ignoring it) printed the version; else removed. A JVM killed while it
     * wrote the archive leaves a partial file, which would crash the JVM that maps it: it is never used.
     */
    private static void keep(Path training, Path trained, Path archive, List<String> jvmOptions, Path appJar, Path java, int code) {
        try {
            if (code < 128 && Files.isRegularFile(training) && Files.exists(trained)) {
                List<String> check = new ArrayList<>();
                check.add(java.toString());
                check.addAll(jvmOptions);
                check.addAll(defaults(jvmOptions)); // as the JVMs that map it
                check.addAll(List.of("-Xlog:cds*=off", "-Xshare:on", "-XX:SharedArchiveFile=" + training, "-jar", appJar.toString(), "--version"));
                Process p = new ProcessBuilder(check).redirectErrorStream(true).start();
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                if (p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0 && out.startsWith("pgrewrite ")) {
                    Files.move(training, archive, StandardCopyOption.ATOMIC_MOVE);
                }
            }
        } catch (IOException | RuntimeException ignored) {
            // the next command makes it again
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            try {
                Files.deleteIfExists(training);
                Files.deleteIfExists(trained);
            } catch (IOException ignored) {
                // a stale .tmp: removed with the copy when the jar is rebuilt
            }
        }
    }

    /** In a JVM that writes the archive at exit: its Spring context started, so the archive is worth keeping. */
    static void contextStarted() {
        String trained = System.getProperty(TRAINED_PROPERTY);
        if (trained != null) {
            try {
                Files.createFile(Path.of(trained));
            } catch (IOException | RuntimeException ignored) {
                // the next command makes the archive
            }
        }
    }

    /** The exit code of the archive's JVM; this thread waits for it whatever interrupts it. */
    private static int waitFor(Process child) {
        boolean interrupted = false;
        while (true) {
            try {
                int code = child.waitFor();
                if (interrupted) {
                    Thread.currentThread().interrupt();
                }
                return code;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
    }

    /**
     * A signal that would end this JVM goes on to the archive's JVM instead, which then stops as it would have
     * as the only process; this one exits with its exit code. (Ctrl-C reaches both from the terminal: the second
     * SIGINT finds that JVM already stopping and changes nothing.)
     */
    private static void forwardSignals(Process child) {
        for (String name : List.of("TERM", "INT", "HUP")) {
            try {
                Signal.handle(new Signal(name), s -> send(child, name));
            } catch (IllegalArgumentException | UnsupportedOperationException e) {
                // not on this platform (or the signal is reserved, e.g. with -Xrs): the default stays
            }
        }
    }

    private static void send(Process child, String signal) {
        if (!child.isAlive()) {
            return;
        }
        if (signal.equals("TERM")) {
            child.destroy(); // SIGTERM
            return;
        }
        try {
            new ProcessBuilder("kill", "-" + signal, String.valueOf(child.pid())).inheritIO().start().waitFor(10, TimeUnit.SECONDS);
        } catch (IOException | RuntimeException e) {
            child.destroy();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * In the archive's JVM: when the process that started it is gone (killed with -9: it never exits before this
     * JVM otherwise), end at once, as the single process would have ended with it. Polled: ProcessHandle cannot
     * wait for a process that is not a child.
     */
    static void watchLauncher() {
        String pid = System.getProperty(LAUNCHER_PROPERTY);
        if (pid == null) {
            return;
        }
        Optional<ProcessHandle> launcher;
        try {
            launcher = ProcessHandle.of(Long.parseLong(pid));
        } catch (RuntimeException e) {
            return;
        }
        if (launcher.isEmpty()) {
            Runtime.getRuntime().halt(ExitCodes.ERROR);
        }
        ProcessHandle parent = launcher.get();
        Thread watch = new Thread(() -> {
            while (parent.isAlive()) {
                try {
                    Thread.sleep(200);
                } catch (InterruptedException e) {
                    return;
                }
            }
            Runtime.getRuntime().halt(128 + 9);
        }, "pgrewrite-launcher-watch");
        watch.setDaemon(true);
        watch.start();
    }
}
