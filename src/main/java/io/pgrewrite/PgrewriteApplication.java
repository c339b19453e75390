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
        io.pgrewrite.cli.CompilerMode.forCommand(args); // run, restart, worker, scheduler, demo: C1 only
        Integer unpacked = UnpackedJar.run(args); // status and plan: from the jar's classes unpacked once
        System.exit(unpacked != null ? unpacked : Cli.execute(args));
    }
}
