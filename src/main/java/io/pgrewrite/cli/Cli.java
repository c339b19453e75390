package io.pgrewrite.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code pgrewrite} command and its subcommands. */
@Command(name = "pgrewrite", mixinStandardHelpOptions = true, versionProvider = Cli.Version.class,
        description = "Online, partition-at-a-time rewrites of large time-partitioned PostgreSQL tables.",
        subcommands = {CommandLine.HelpCommand.class})
public class Cli {

    public static int execute(String... args) {
        return new CommandLine(new Cli()).execute(args);
    }

    static class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Cli.class.getPackage().getImplementationVersion();
            return new String[] {"pgrewrite " + (v == null ? "dev" : v)};
        }
    }
}
