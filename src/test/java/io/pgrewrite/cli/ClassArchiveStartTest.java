package io.pgrewrite.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import io.pgrewrite.job.FaultPoints;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.JvmProcess;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An operator runs the commands that start Spring the usual way, {@code java -jar pgrewrite.jar …}; they run in a
 * second JVM that maps a class data sharing archive of the build (ArchivedJvm). The first command whose Spring
 * context starts makes the archive and the next ones use it, status and plan too once it exists (before, they run in
 * the operator's JVM and make none); exit codes and output are those of the command run alone; SIGTERM to the
 * process the operator started stops a worker as it stops one run alone; and kill -9 of that process leaves no
 * JVM behind that still holds the job, so {@code recover} is not refused. (Without a built jar, the unpacked copy
 * is made here from the test's class path, and ArchivedJvmMain stands in for the jar's main class.)
 */
class ClassArchiveStartTest {

    @TempDir
    static Path unpacked;

    @TempDir
    Path dir;

    /** The unpacked copy as UnpackedJar makes it: the application's classes as a jar naming its libraries. */
    @BeforeAll
    static void unpack() throws Exception {
        List<String> libs = new ArrayList<>();
        Path classes = null;
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            Path p = Path.of(entry).toAbsolutePath();
            if (Files.isDirectory(p) && Files.exists(p.resolve(Cli.class.getName().replace('.', '/') + ".class"))) {
                classes = p;
            } else if (Files.isRegularFile(p) && p.toString().endsWith(".jar")) {
                // lib/ next to the jar, named relative to it, as in the copy UnpackedJar makes
                String name = "lib/" + libs.size() + "-" + p.getFileName();
                Files.createDirectories(unpacked.resolve("lib"));
                Files.createSymbolicLink(unpacked.resolve(name), p);
                libs.add(name);
            }
        }
        assertThat(classes).as("pgrewrite's classes on the class path").isNotNull();
        UnpackedJar.writeAppJar(null, classes, libs, unpacked.resolve(UnpackedJar.APP_JAR));
    }

    @Test
    void theFirstCommandMakesTheArchiveTheNextUseItAndTheyAnswerAsAlone() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("cds_answer");
        CliRun alone = CliRun.run(db, "stop", "424242");
        assertThat(alone.exitCode()).as(alone.toString()).isEqualTo(ExitCodes.NOTHING_TO_DO);

        // A command that ends before its Spring context starts makes no archive: it would hold too few classes.
        Path bad = dir.resolve("bad.yaml");
        Files.writeString(bad, "name: bad\ntable: ev\noperation: nope\n");
        CliRun badAlone = CliRun.run(db, "run", bad.toString());
        Launched early = Launched.start(List.of(), db, dir, "run", bad.toString());
        assertThat(early.waitFor(180)).as(early.toString()).isEqualTo(ExitCodes.BAD_DEFINITION).isEqualTo(badAlone.exitCode());
        assertThat(early.err()).isEqualTo(badAlone.err());
        assertThat(archives()).isEmpty();

        // status and plan start no Spring context: before the archive exists they run in the launching JVM (ArchivedJvmMain
        // says so with 99) and make none.
        Path job = dir.resolve("job.yaml");
        Files.writeString(job, "name: cds\ntable: ev\noperation: compact\n");
        CliRun statusAlone = CliRun.run(db, "status");
        CliRun planAlone = CliRun.run(db, "plan", job.toString());
        Launched statusEarly = Launched.start(List.of(), db, dir, "status");
        assertThat(statusEarly.waitFor(180)).as(statusEarly.toString()).isEqualTo(99);
        Launched planEarly = Launched.start(List.of(), db, dir, "plan", job.toString());
        assertThat(planEarly.waitFor(180)).as(planEarly.toString()).isEqualTo(99);
        assertThat(archives()).isEmpty();

        Launched first = Launched.start(List.of(), db, dir, "stop", "424242");
        assertThat(first.waitFor(180)).as(first.toString()).isEqualTo(ExitCodes.NOTHING_TO_DO);
        assertThat(first.err()).isEqualTo(alone.err());
        assertThat(first.out()).isEqualTo(alone.out());
        assertThat(archives()).as("the archive, renamed into place whole").hasSize(1).allMatch(f -> f.endsWith(".jsa"));

        Path classLog = dir.resolve("classes-%p.log");
        Launched second = Launched.start(List.of("-Xlog:class+load:file=" + classLog), db, dir, "stop", "424242");
        assertThat(second.waitFor(180)).as(second.toString()).isEqualTo(ExitCodes.NOTHING_TO_DO);
        assertThat(second.err()).isEqualTo(alone.err());
        assertThat(second.out()).isEqualTo(alone.out());
        List<String> loaded;
        try (Stream<Path> logs = Files.list(dir)) {
            loaded = logs.filter(p -> p.getFileName().toString().startsWith("classes-")).flatMap(p -> read(p).lines())
                    .filter(l -> l.contains(" io.pgrewrite.cli.AppContext source:") || l.contains(" org.springframework.boot.SpringApplication source:"))
                    .toList();
        }
        // The archive's JVM took pgrewrite's and Spring's classes from the archive, not from the jars.
        assertThat(loaded).hasSize(2).allMatch(l -> l.endsWith("source: shared objects file (top)"));

        // Once it exists, status and plan run in the archive's JVM too, and answer as they do alone.
        Path statusLog = dir.resolve("status-%p.log");
        Launched status = Launched.start(List.of("-Xlog:class+load:file=" + statusLog), db, dir, "status");
        assertThat(status.waitFor(180)).as(status.toString()).isEqualTo(ExitCodes.OK).isEqualTo(statusAlone.exitCode());
        assertThat(status.out()).isEqualTo(statusAlone.out());
        assertThat(status.err()).isEqualTo(statusAlone.err());
        Launched plan = Launched.start(List.of(), db, dir, "plan", job.toString());
        assertThat(plan.waitFor(180)).as(plan.toString()).isEqualTo(planAlone.exitCode()).isEqualTo(ExitCodes.PRECONDITION);
        assertThat(plan.out()).isEqualTo(planAlone.out());
        assertThat(plan.err()).isEqualTo(planAlone.err());
        List<String> statusClasses;
        try (Stream<Path> logs = Files.list(dir)) {
            statusClasses = logs.filter(p -> p.getFileName().toString().startsWith("status-")).flatMap(p -> read(p).lines())
                    .filter(l -> l.contains(" io.pgrewrite.cli.StatusCommand source:")).toList();
        }
        assertThat(statusClasses).hasSize(1).allMatch(l -> l.endsWith("source: shared objects file (top)"));
        assertThat(archives()).hasSize(1);
    }

    @Test
    void sigtermToTheLauncherStopsTheWorkerAsItStopsAlone() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("cds_worker");
        CliRun.makeSchema(db);
        int aloneCode;
        try (JvmProcess alone = JvmProcess.start("worker", List.of(), db, "worker", "--threads", "1", "--max-idle", "10m")) {
            alone.await(l -> l.contains("taking partition requests"), 180);
            aloneCode = alone.terminate(60);
        }
        Launched worker = Launched.start(List.of(), db, dir, "worker", "--threads", "1", "--max-idle", "10m");
        worker.awaitErr("taking partition requests", 180);
        ProcessHandle jvm = worker.archiveJvm();
        try {
            worker.process.destroy(); // SIGTERM to the process the operator started
            assertThat(worker.waitFor(60)).as(worker.toString()).isEqualTo(aloneCode);
            assertThat(jvm.isAlive()).as("the worker's JVM").isFalse();
        } finally {
            jvm.destroyForcibly();
        }
    }

    @Test
    void killMinus9OfTheLauncherEndsTheJobsJvmSoRecoverIsNotRefused() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("cds_kill");
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), 1, 2000);
        }
        Path job = dir.resolve("kill.yaml");
        Files.writeString(job, "name: kill\ntable: ev\noperation: compact\nworkers: 1\ncopy:\n  chunk-rows: 500\n");
        Launched run = Launched.start(List.of("-D" + FaultPoints.PROPERTY + "=copy"), db, dir, "run", job.toString());
        run.awaitOut("PGREWRITE-PAUSED copy", 180);
        ProcessHandle jvm = run.archiveJvm();
        try {
            run.process.destroyForcibly();
            run.process.waitFor(30, TimeUnit.SECONDS);
            jvm.onExit().get(10, TimeUnit.SECONDS);
        } finally {
            jvm.destroyForcibly();
        }

        long id;
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            id = StopAndResumeTest.lastExecution(st);
        }
        CliRun recover = CliRun.run(db, "recover", String.valueOf(id));
        assertThat(recover.exitCode()).as(recover.toString()).isEqualTo(ExitCodes.OK);
    }

    private static List<String> archives() throws Exception {
        try (Stream<Path> files = Files.list(unpacked)) {
            return files.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("cds-")).toList();
        }
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** The launcher (this build's classes, as java -jar would run them) with its stdout and stderr in files. */
    private record Launched(Process process, Path outFile, Path errFile) {

        static Launched start(List<String> jvmOptions, TestDatabase.Database db, Path dir, String... args) throws Exception {
            List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Xmx256m", "-XX:TieredStopAtLevel=1"));
            cmd.addAll(jvmOptions);
            cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), ArchivedJvmMain.class.getName(), unpacked.toString()));
            cmd.addAll(Arrays.asList(args));
            cmd.addAll(List.of(db.cliOptions()));
            Path out = Files.createTempFile(dir, "out", ".txt");
            Path err = Files.createTempFile(dir, "err", ".txt");
            ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectOutput(out.toFile()).redirectError(err.toFile());
            pb.environment().remove("SPRING_DATASOURCE_URL");
            return new Launched(pb.start(), out, err);
        }

        int waitFor(long seconds) throws Exception {
            if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly();
                throw new AssertionError("still running after " + seconds + " s: " + this);
            }
            return process.exitValue();
        }

        String out() {
            return read(outFile);
        }

        String err() {
            return read(errFile);
        }

        void awaitOut(String text, long seconds) throws Exception {
            await(outFile, text, seconds);
        }

        void awaitErr(String text, long seconds) throws Exception {
            await(errFile, text, seconds);
        }

        private void await(Path file, String text, long seconds) throws Exception {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            while (!read(file).contains(text)) {
                if (!process.isAlive() || System.nanoTime() > end) {
                    process.descendants().forEach(ProcessHandle::destroyForcibly);
                    process.destroyForcibly();
                    throw new AssertionError("no \"" + text + "\": " + this);
                }
                Thread.sleep(100);
            }
        }

        /** The JVM the launcher started: its only child java process. */
        ProcessHandle archiveJvm() {
            return process.children().filter(p -> p.info().command().map(c -> c.endsWith("java")).orElse(false)).findFirst()
                    .orElseThrow(() -> new AssertionError("no archive JVM under the launcher: " + this));
        }

        @Override
        public String toString() {
            return "exit " + (process.isAlive() ? "(running)" : process.exitValue()) + "\n--- out\n" + out() + "--- err\n" + err();
        }
    }
}
