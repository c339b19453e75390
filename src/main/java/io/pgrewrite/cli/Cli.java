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
        footer = {"", "Exit codes: 0 done, 1 job failed (restart continues it), 2 usage, 3 bad job definition,"
                + " 4 precondition failed (nothing changed), 5 nothing to do, 6 already running, 7 stopped, 9 error."})
public class Cli {

    public static int execute(String... args) {
        return commandLine().execute(args);
    }

    /**
     * The command line with {@code --help} / {@code --version} on every subcommand (also those added
     * later), usage as wide as the terminal, and each subcommand's whole description in the list.
     */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Cli());
        helpEverywhere(cl);
        cl.setUsageHelpAutoWidth(true);
        cl.setUsageHelpLongOptionsMaxWidth(30);
        cl.getHelpSectionMap().put(CommandLine.Model.UsageMessageSpec.SECTION_KEY_COMMAND_LIST, Cli::commandList);
        return cl;
    }

    private static void helpEverywhere(CommandLine cl) {
        for (CommandLine sub : cl.getSubcommands().values()) {
            if (!sub.getCommandSpec().mixinStandardHelpOptions() && !(sub.getCommand() instanceof CommandLine.HelpCommand)) {
                sub.getCommandSpec().mixinStandardHelpOptions(true);
            }
            helpEverywhere(sub);
        }
    }

    /** picocli lists only a description's first line; ours are sentences spread over several lines. */
    private static String commandList(CommandLine.Help help) {
        var subs = help.subcommands();
        if (subs.isEmpty()) {
            return "";
        }
        var spec = help.commandSpec();
        int width = spec.usageMessage().width();
        int nameWidth = subs.keySet().stream().mapToInt(String::length).max().orElse(0) + 2;
        CommandLine.Help.TextTable table = CommandLine.Help.TextTable.forColumns(help.colorScheme(),
                new CommandLine.Help.Column(nameWidth + 2, 2, CommandLine.Help.Column.Overflow.SPAN),
                new CommandLine.Help.Column(Math.max(20, width - nameWidth - 2), 1, CommandLine.Help.Column.Overflow.WRAP));
        for (var e : subs.entrySet()) {
            var usage = e.getValue().commandSpec().usageMessage();
            String description = String.join(" ", usage.header().length > 0 ? usage.header() : usage.description())
                    .replace("%n", " ").trim();
            table.addRowValues(help.colorScheme().commandText(e.getKey()), help.colorScheme().text(description));
        }
        return table.toString();
    }

    static class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Cli.class.getPackage().getImplementationVersion();
            v = v != null ? v : System.getProperty(UnpackedJar.VERSION_PROPERTY);
            return new String[] {"pgrewrite " + (v == null ? "dev" : v)};
        }
    }
}
