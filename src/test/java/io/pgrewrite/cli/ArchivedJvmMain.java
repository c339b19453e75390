package io.pgrewrite.cli;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * What {@code java -jar pgrewrite.jar <command>} does once the jar is unpacked, for tests that have no built jar:
 * {@code ArchivedJvmMain UNPACKED_DIR COMMAND ARGS…} runs the command in the archive's JVM and exits with its code
 * (99 where it runs in the launching JVM instead: status and plan before the archive exists).
 */
public final class ArchivedJvmMain {

    private ArchivedJvmMain() {
    }

    public static void main(String[] args) {
        Integer code = UnpackedJar.inArchivedJvm(Path.of(args[0]), Arrays.copyOfRange(args, 1, args.length));
        if (code == null) {
            System.err.println("ArchivedJvmMain: the archive's JVM did not apply");
            System.exit(99);
        }
        System.exit(code);
    }
}
