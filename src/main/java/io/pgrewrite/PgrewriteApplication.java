package io.pgrewrite;

import io.pgrewrite.cli.Cli;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/**
 * pgrewrite: online, partition-at-a-time rewrites of large time-partitioned PostgreSQL tables.
 * The command line is parsed first; commands that need the database start the Spring context.
 */
@SpringBootApplication
public class PgrewriteApplication {

    public static void main(String[] args) {
        System.exit(Cli.execute(args));
    }
}
