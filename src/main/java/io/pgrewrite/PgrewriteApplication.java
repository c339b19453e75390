package io.pgrewrite;

import io.pgrewrite.cli.Cli;
import io.pgrewrite.cli.UnpackedJar;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/**
 * pgrewrite: online, partition-at-a-time rewrites of large time-partitioned PostgreSQL tables.
 * The command line is parsed first; commands that need the database start the Spring context.
 */
@SpringBootApplication
public class PgrewriteApplication {

    public static void main(String[] args) {
        // From the jar's classes unpacked once: status and plan in this JVM, the commands that start Spring in a
        // JVM with the class data sharing archive (which sets its own compiler mode, below).
        Integer unpacked = UnpackedJar.run(args);
        if (unpacked != null) {
            System.exit(unpacked);
        }
        io.pgrewrite.cli.CompilerMode.forCommand(args); // run, restart, worker, scheduler, demo: C1 only
        System.exit(Cli.execute(args));
    }
}
