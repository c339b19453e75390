package io.pgrewrite.cli;

import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.InvocationTargetException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Enumeration;
import java.util.List;
import java.util.Set;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Stream;

import io.pgrewrite.PgrewriteApplication;

/**
 * Every command from the jar's classes unpacked once into the user's cache directory
 * ({@code $XDG_CACHE_HOME/pgrewrite}, else {@code ~/.cache/pgrewrite}). Loading each class out of a jar nested in
 * {@code pgrewrite.jar} (Spring Boot's launcher) cost {@code status} and {@code plan} a third of their CPU time;
 * {@code java -Djarmode=tools extract} does the same by hand. The commands that start the Spring context run in a
 * JVM of their own with a class data sharing archive of this build ({@link ArchivedJvm}), which halves their
 * start-up; {@code status} and {@code plan} (no Spring context) too once that archive exists, else in this JVM on a
 * plain class loader ({@link #inArchivedJvm}). The copy is
 * keyed by the jar's path, size and modification time, made in a private directory and renamed into place
 * whole; a rebuilt jar gets a new one and the old one is removed. Where anything of this fails the command runs
 * as before, from the jar.
 */
public final class UnpackedJar {

    /** Commands that start no Spring context: the ones whose start-up is mostly class loading. */
    static final Set<String> COMMANDS = Set.of("status", "plan");

    /** Commands that start the Spring context: in a JVM of their own with the class data sharing archive. */
    static final Set<String> SPRING_COMMANDS = Set.of("run", "restart", "worker", "scheduler", "demo", "stop", "recover",
            "abandon", "pause", "resume", "postpone-swap", "allow-swap", "set");

    /** The unpacked classes as a plain jar whose manifest names the libraries: what the archive's JVM runs. */
    static final String APP_JAR = "pgrewrite.jar";

    /** Bumped when the copy's layout changes: a copy made by an earlier pgrewrite is replaced, not misread. */
    private static final String LAYOUT = "2";

    /** Set on the unpacked run: the outer jar's Implementation-Version (Cli's --version). */
    static final String VERSION_PROPERTY = "pgrewrite.version";

    private static final String DONE = ".complete";

    private UnpackedJar() {
    }

    /** Runs the command from the unpacked classes and returns its exit code, or null where it does not apply. */
    public static Integer run(String[] args) {
        ArchivedJvm.watchLauncher(); // in the archive's JVM: end with the process that started it
        if (args.length == 0 || !(COMMANDS.contains(args[0]) || SPRING_COMMANDS.contains(args[0]))
                || PgrewriteApplication.class.getClassLoader() == ClassLoader.getSystemClassLoader()
                || Boolean.getBoolean("pgrewrite.unpacked.disabled")) {
            return null;
        }
        Path jar = Path.of(System.getProperty("java.class.path", "")).toAbsolutePath();
        ClassLoader loader;
        try {
            Path dir = unpacked(jar);
            if (dir == null) {
                return null;
            }
            Integer code = inArchivedJvm(dir, args);
            if (code != null) {
                return code;
            }
            List<URL> urls = new ArrayList<>();
            urls.add(dir.resolve("classes").toUri().toURL());
            for (String lib : Files.readAllLines(dir.resolve("classpath.txt"))) {
                urls.add(dir.resolve("lib").resolve(lib).toUri().toURL());
            }
            loader = new URLClassLoader("pgrewrite", urls.toArray(URL[]::new), ClassLoader.getPlatformClassLoader());
        } catch (IOException | RuntimeException e) {
            return null; // from the jar, as before
        }
        String version = Cli.class.getPackage().getImplementationVersion();
        if (version != null) {
            System.setProperty(VERSION_PROPERTY, version);
        }
        CompilerMode.forCommand(args); // a command that starts Spring, here when no JVM with the archive could
        Thread.currentThread().setContextClassLoader(loader);
        try {
            return (Integer) Class.forName(Cli.class.getName(), true, loader).getMethod("execute", String[].class)
                    .invoke(null, (Object) args);
        } catch (InvocationTargetException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("Could not run " + args[0] + " from the unpacked jar in " + loader, e);
        }
    }

    /**
     * The command in a JVM with the class data sharing archive ({@link ArchivedJvm}), and its exit code; null where it
     * runs here. The commands that start Spring make the archive when there is none. {@code status} and {@code plan}
     * use it once one of those has made it (it holds the classes they load: JDBC, Hikari, Spring's JdbcTemplate,
     * Jackson, picocli, pgrewrite's own) and run here until then: a JVM that writes the archive at its exit costs
     * seconds, and an archive of a command without Spring would slow the commands with it. Measured on 370
     * partitions (PostgreSQL 15, 2 cores, loaded): the JVM's CPU for {@code status ID} 2.8 s here, 1.1 s in the
     * archive's JVM (C1 only, the serial collector, the classes mapped) plus this JVM's start until it launches that one.
     */
    static Integer inArchivedJvm(Path dir, String[] args) {
        if (SPRING_COMMANDS.contains(args[0])) {
            return ArchivedJvm.run(dir, args, true);
        }
        return COMMANDS.contains(args[0]) ? ArchivedJvm.run(dir, args, false) : null;
    }

    /** The unpacked copy of a Spring Boot jar, made now if there is none; null for anything else. */
    static Path unpacked(Path jar) throws IOException {
        Path cache = cacheRoot();
        return cache == null ? null : unpacked(jar, cache);
    }

    /** @param cache where the copies of pgrewrite jars are kept */
    static Path unpacked(Path jar, Path cache) throws IOException {
        if (!Files.isRegularFile(jar) || !jar.toString().endsWith(".jar")) {
            return null;
        }
        String prefix = Integer.toHexString(jar.toString().hashCode()) + "-";
        Path dir = cache.resolve(prefix + Long.toHexString(Files.size(jar)) + "-" + Long.toHexString(Files.getLastModifiedTime(jar).toMillis())
                + "-" + LAYOUT);
        if (Files.exists(dir.resolve(DONE))) {
            return dir;
        }
        Files.createDirectories(cache, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Path tmp = Files.createTempDirectory(cache, prefix + "tmp-");
        try (JarFile jf = new JarFile(jar.toFile())) {
            if (jf.getEntry("BOOT-INF/classes/") == null || jf.getEntry("BOOT-INF/classpath.idx") == null) {
                return null;
            }
            List<String> libs = new ArrayList<>();
            try (InputStream idx = jf.getInputStream(jf.getEntry("BOOT-INF/classpath.idx"))) {
                for (String line : new String(idx.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                    String entry = line.trim().replaceFirst("^- \"(.*)\"$", "$1");
                    if (entry.startsWith("BOOT-INF/lib/")) {
                        libs.add(entry.substring("BOOT-INF/lib/".length()));
                    }
                }
            }
            for (Enumeration<JarEntry> en = jf.entries(); en.hasMoreElements(); ) {
                JarEntry e = en.nextElement();
                String name = e.getName();
                Path target = name.startsWith("BOOT-INF/classes/") ? tmp.resolve("classes").resolve(name.substring(17))
                        : name.startsWith("BOOT-INF/lib/") ? tmp.resolve("lib").resolve(name.substring(13)) : null;
                if (target == null || e.isDirectory() || !target.normalize().startsWith(tmp)) {
                    continue;
                }
                Files.createDirectories(target.getParent());
                try (InputStream in = jf.getInputStream(e)) {
                    Files.copy(in, target);
                }
            }
            Files.write(tmp.resolve("classpath.txt"), libs);
            writeAppJar(jf.getManifest(), tmp.resolve("classes"), libs.stream().map(l -> "lib/" + l).toList(), tmp.resolve(APP_JAR));
            Files.createFile(tmp.resolve(DONE));
            try {
                Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException taken) {
                // another process made it at the same time: use that one
                if (!Files.exists(dir.resolve(DONE))) {
                    throw taken;
                }
            }
            removeOthers(cache, prefix, dir);
            return dir;
        } finally {
            delete(tmp);
        }
    }

    /**
     * The application's classes as a plain jar for {@code java -jar}: the outer manifest's attributes (the
     * version) with this jar's Main-Class and the libraries as its Class-Path. Class data sharing wants jars, not
     * directories, on the class path.
     */
    static void writeAppJar(Manifest outerManifest, Path classes, List<String> classPath, Path target) throws IOException {
        Manifest manifest = new Manifest();
        Attributes main = manifest.getMainAttributes();
        if (outerManifest != null) {
            outerManifest.getMainAttributes().forEach((k, v) -> {
                if (!k.toString().startsWith("Spring-Boot-") && !k.toString().equals("Start-Class")) {
                    main.put(k, v);
                }
            });
        }
        main.put(Attributes.Name.MANIFEST_VERSION, "1.0");
        main.put(Attributes.Name.MAIN_CLASS, PgrewriteApplication.class.getName());
        main.put(Attributes.Name.CLASS_PATH, String.join(" ", classPath));
        List<Path> files;
        try (Stream<Path> walk = Files.walk(classes)) {
            files = walk.filter(p -> !p.equals(classes)).sorted().toList();
        }
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(target), manifest)) {
            for (Path f : files) {
                String name = classes.relativize(f).toString().replace(java.io.File.separatorChar, '/');
                if (name.equals("META-INF/MANIFEST.MF") || name.equals("META-INF")) {
                    continue;
                }
                // Directory entries too: without them ClassLoader.getResources("sql/migration") finds nothing,
                // and neither would Flyway.
                boolean directory = Files.isDirectory(f);
                out.putNextEntry(new JarEntry(directory ? name + "/" : name));
                if (!directory) {
                    Files.copy(f, out);
                }
                out.closeEntry();
            }
        }
    }

    private static Path cacheRoot() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        String home = System.getProperty("user.home");
        Path root = xdg != null && !xdg.isBlank() ? Path.of(xdg) : home != null && !home.isBlank() && !home.equals("?") ? Path.of(home, ".cache") : null;
        return root == null ? null : root.resolve("pgrewrite");
    }

    /** Copies of earlier builds of the same jar (same path): a rebuilt jar leaves no 60 MB behind. */
    private static void removeOthers(Path cache, String prefix, Path keep) {
        try (Stream<Path> all = Files.list(cache)) {
            all.filter(p -> p.getFileName().toString().startsWith(prefix) && !p.equals(keep)
                    && !p.getFileName().toString().startsWith(prefix + "tmp-")).forEach(UnpackedJar::delete);
        } catch (IOException | RuntimeException ignored) {
            // the next build removes it
        }
    }

    private static void delete(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException | RuntimeException ignored) {
            // best effort
        }
    }
}
