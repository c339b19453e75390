package io.pgrewrite.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;

import io.pgrewrite.testsupport.CliRun;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * A new user types {@code --help} after any command, e.g. {@code pgrewrite demo --help}, and gets its
 * usage (exit 0), not "Unknown option"; {@code pgrewrite --help} lists every command with its whole
 * description, not just the first line of it.
 */
class HelpTest {

    @Test
    void everySubcommandHasHelp() {
        List<String> paths = new ArrayList<>();
        collect(Cli.commandLine(), "", paths);
        assertThat(paths).contains("demo", "demo traffic", "plan", "run", "status", "scheduler");
        for (String path : paths) {
            List<String> args = new ArrayList<>(List.of(path.split(" ")));
            args.add("--help");
            CliRun help = CliRun.run(null, args.toArray(String[]::new));
            assertThat(help.exitCode()).as(path + " --help: " + help).isZero();
            assertThat(help.out()).as(path).startsWith("Usage: pgrewrite " + path);
            assertThat(help.err()).as(path).isEmpty();
        }
    }

    @Test
    void topLevelHelpIsNotCutOff() {
        CliRun help = CliRun.run(null, "--help");
        assertThat(help.exitCode()).isZero();
        // picocli may wrap inside a word at a dot (swap.window): compare without any whitespace
        String flat = help.out().replaceAll("\\s+", "");
        for (CommandLine sub : Cli.commandLine().getSubcommands().values()) {
            var usage = sub.getCommandSpec().usageMessage();
            if (sub.getCommand() instanceof CommandLine.HelpCommand) {
                continue;
            }
            String description = String.join(" ", usage.description()).replaceAll("\\s+", "");
            assertThat(flat).as(sub.getCommandName()).contains(description);
        }
        assertThat(flat).contains("5nothingtodo,6alreadyrunning,7stopped,9error.");
    }

    /**
     * {@code pgrewrite run …} builds the command line of {@code run} only (picocli's models of the other commands
     * cost start-up and are never used); its help and its usage errors read as they do among all of them.
     */
    @Test
    void aCommandBuiltAloneAnswersAsAmongAll() {
        for (String name : Cli.commandLine().getSubcommands().keySet()) {
            for (String[] args : List.of(new String[] {name, "--help"}, new String[] {name, "--no-such-option"})) {
                assertThat(answer(Cli.commandLine(args), args)).as(String.join(" ", args)).isEqualTo(answer(Cli.commandLine(), args));
            }
        }
        assertThat(Cli.commandLine("run", "job.yaml").getSubcommands().keySet()).containsExactly("run");
        assertThat(Cli.commandLine("help").getSubcommands()).hasSameSizeAs(Cli.commandLine().getSubcommands());
        assertThat(Cli.commandLine("--version").getSubcommands()).hasSameSizeAs(Cli.commandLine().getSubcommands());
    }

    private static String answer(CommandLine cl, String... args) {
        java.io.StringWriter out = new java.io.StringWriter();
        java.io.StringWriter err = new java.io.StringWriter();
        int code = cl.setOut(new java.io.PrintWriter(out, true)).setErr(new java.io.PrintWriter(err, true)).execute(args);
        return "exit " + code + "\n" + out + "\n--- err\n" + err;
    }

    private static void collect(CommandLine cl, String prefix, List<String> paths) {
        for (var e : cl.getSubcommands().entrySet()) {
            if (e.getValue().getCommand() instanceof CommandLine.HelpCommand) {
                continue;
            }
            String path = (prefix + " " + e.getKey()).trim();
            paths.add(path);
            collect(e.getValue(), path, paths);
        }
    }
}
