package io.pgrewrite.testsupport;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import io.pgrewrite.PgrewriteApplication;

/** A pgrewrite command in a JVM of its own (for kill -9 and multi-process stories), its output kept. */
public final class JvmProcess implements AutoCloseable {

    private final Process process;
    private final List<String> lines = new CopyOnWriteArrayList<>();
    private final String name;

    private JvmProcess(String name, Process process) {
        this.name = name;
        this.process = process;
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    lines.add(line);
                }
            } catch (Exception ignored) {
                // the process was killed
            }
        }, name + "-output");
        reader.setDaemon(true);
        reader.start();
    }

    public static JvmProcess start(String name, List<String> jvmArgs, TestDatabase.Database db, String... args) throws Exception {
        return start(name, jvmArgs, db.cliOptions(), args);
    }

    /** {@link #start(String, List, TestDatabase.Database, String...)} with connection options of its own (another role). */
    public static JvmProcess start(String name, List<String> jvmArgs, String[] connection, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-XX:TieredStopAtLevel=1"));
        cmd.addAll(jvmArgs);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), PgrewriteApplication.class.getName()));
        cmd.addAll(List.of(args));
        cmd.addAll(List.of(connection));
        return new JvmProcess(name, new ProcessBuilder(cmd).redirectErrorStream(true).start());
    }

    /**
     * Runs a command to its end in a JVM of its own, as an operator's shell would: stdout and stderr
     * apart, nothing but the process's own streams (the logging configuration included).
     *
     * @param env extra environment variables
     */
    public static CliRun runToEnd(List<String> jvmArgs, java.util.Map<String, String> env, long seconds, String... args)
            throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-XX:TieredStopAtLevel=1"));
        cmd.addAll(jvmArgs);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), PgrewriteApplication.class.getName()));
        cmd.addAll(List.of(args));
        java.io.File out = java.io.File.createTempFile("pgrewrite-out", ".txt");
        java.io.File err = java.io.File.createTempFile("pgrewrite-err", ".txt");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out).redirectError(err);
        pb.environment().remove("SPRING_DATASOURCE_URL");
        pb.environment().putAll(env);
        Process p = pb.start();
        try {
            if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
                throw new AssertionError(String.join(" ", args) + " still running after " + seconds + " s:\n"
                        + java.nio.file.Files.readString(out.toPath()) + java.nio.file.Files.readString(err.toPath()));
            }
            return new CliRun(p.exitValue(), java.nio.file.Files.readString(out.toPath()), java.nio.file.Files.readString(err.toPath()));
        } finally {
            p.destroyForcibly();
            out.delete();
            err.delete();
        }
    }

    /** Waits for a line of output; returns it. */
    public String await(Predicate<String> match, long seconds) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < end) {
            for (String l : lines) {
                if (match.test(l)) {
                    return l;
                }
            }
            if (!process.isAlive() && lines.stream().noneMatch(match)) {
                throw new AssertionError(name + " exited (" + process.exitValue() + ") before the expected line:\n" + output());
            }
            Thread.sleep(100);
        }
        throw new AssertionError(name + ": no matching line in " + seconds + " s:\n" + output());
    }

    public int waitFor(long seconds) throws InterruptedException {
        if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
            throw new AssertionError(name + " still running after " + seconds + " s:\n" + output());
        }
        return process.exitValue();
    }

    /** SIGTERM; returns the exit code, or fails if the process does not end in time. */
    public int terminate(long seconds) throws InterruptedException {
        process.destroy();
        return waitFor(seconds);
    }

    /** kill -9. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    /** The operating system's process id (for kill -STOP / -CONT). */
    public long pid() {
        return process.pid();
    }

    /** Sends a signal by name (STOP, CONT) to this process only. */
    public void signal(String name) throws Exception {
        Process k = new ProcessBuilder("kill", "-" + name, String.valueOf(process.pid())).inheritIO().start();
        if (k.waitFor() != 0) {
            throw new AssertionError("kill -" + name + " " + process.pid() + " failed");
        }
    }

    public List<String> lines() {
        return lines;
    }

    public String output() {
        return String.join("\n", lines);
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            kill();
        }
    }
}
