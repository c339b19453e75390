package io.pgrewrite.cli;

import java.util.List;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code pgrewrite} command and its subcommands. */
@Command(name = "pgrewrite", mixinStandardHelpOptions = true, versionProvider = Cli.Version.class,
        description = "Online, partition-at-a-time rewrites of large time-partitioned PostgreSQL tables.",
        footer = {"", "Exit codes: 0 done, 1 job failed (restart continues it), 2 usage, 3 bad job definition,"
                + " 4 precondition failed (nothing changed), 5 nothing to do, 6 already running, 7 stopped, 9 error."})
public class Cli {

    /** The subcommands, in the order {@code pgrewrite --help} lists them. */
    static final List<Class<?>> SUBCOMMANDS = List.of(DemoCommand.class, PlanCommand.class, RunCommand.class, RestartCommand.class,
            StatusCommand.class, WorkerCommand.class, StopCommand.class, RecoverCommand.class, AbandonCommand.class, SchedulerCommand.class,
            ControlCommands.Pause.class, ControlCommands.Resume.class, ControlCommands.PostponeSwap.class,
            ControlCommands.AllowSwap.class, ControlCommands.Set.class, CommandLine.HelpCommand.class);

    public static int execute(String... args) {
        return commandLine(args).execute(args);
    }

    /**
     * The command line for these arguments: where the first names a subcommand, with that one only. picocli
     * builds the model of every subcommand it is given, by reflection over their options (its classes, compiled
     * for Java 5, are also the ones the class data sharing archive cannot hold): on 2 loaded cores that was 0.9 s
     * of {@code run}'s 8.6 s from JVM start to the job's start, for 15 models never used. Help, usage errors and
     * output of a subcommand do not depend on its siblings; {@code pgrewrite --help}, {@code help} and an unknown
     * command get them all.
     */
    static CommandLine commandLine(String... args) {
        if (args.length > 0 && !args[0].equals("help")) {
            for (Class<?> c : SUBCOMMANDS) {
                Command command = c.getAnnotation(Command.class);
                if (command != null && command.name().equals(args[0])) {
                    return commandLine(List.of(c));
                }
            }
        }
        return commandLine();
    }

    /**
     * The command line with {@code --help} / {@code --version} on every subcommand (also those added
     * later), usage as wide as the terminal, and each subcommand's whole description in the list.
     */
    public static CommandLine commandLine() {
        return commandLine(SUBCOMMANDS);
    }

    private static CommandLine commandLine(List<Class<?>> subcommands) {
        CommandLine cl = new CommandLine(new Cli());
        subcommands.forEach(cl::addSubcommand);
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
