package io.pgrewrite.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code pgrewrite} command and its subcommands. */
@Command(name = "pgrewrite", mixinStandardHelpOptions = true, versionProvider = Cli.Version.class,
        description = "Online, partition-at-a-time rewrites of large time-partitioned PostgreSQL tables.",
        subcommands = {DemoCommand.class, PlanCommand.class, RunCommand.class, RestartCommand.class, StatusCommand.class, WorkerCommand.class,
                StopCommand.class, RecoverCommand.class, AbandonCommand.class, SchedulerCommand.class,
                ControlCommands.Pause.class, ControlCommands.Resume.class, ControlCommands.PostponeSwap.class,
                ControlCommands.AllowSwap.class, ControlCommands.Set.class,
                CommandLine.HelpCommand.class},
        footer = {"", "Exit codes: 0 done, 1 job failed (restart continues it), 2 usage, 3 bad job definition,",
                "4 precondition failed (nothing changed), 5 nothing to do, 6 already running, 7 stopped, 9 error."})
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
