package io.pgrewrite.web;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import io.pgrewrite.cli.ExecutionActions;
import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.definition.DefinitionException;
import io.pgrewrite.definition.JobDefinition;
import io.pgrewrite.job.Failures;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The dashboard's buttons: each runs the code of its command ({@link ExecutionActions}), with the same checks and
 * messages, and answers with the command's exit code and what it printed. {@code restart} runs the job in this
 * process, as {@code pgrewrite restart} runs it in its own; the answer comes once it is under way.
 */
final class Actions {

    private static final Logger log = LoggerFactory.getLogger(Actions.class);

    private final ExecutionActions actions;
    private final ExecutorService restarts = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "dashboard-restart");
        t.setDaemon(true);
        return t;
    });

    Actions(ConfigurableApplicationContext ctx) {
        this.actions = new ExecutionActions(ctx);
    }

    interface Command {
        int run(PrintStream out, PrintStream err) throws Exception;
    }

    /** The result as the page shows it: exitCode, out, err. */
    Map<String, Object> run(String action, long id, String user, Map<String, String> params) {
        log.info("dashboard: {} {} by {}", action, id, user);
        return switch (action) {
            case "stop" -> call((out, err) -> actions.stop(id, out, err, true));
            case "abandon" -> call((out, err) -> actions.abandon(id, out, err, "true".equals(params.get("cleanup")), false));
            case "restart" -> restart(id);
            default -> call((out, err) -> actions.control(action, id, out, err));
        };
    }

    Map<String, Object> call(Command command) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code;
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
                PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            try {
                code = command.run(o, e);
            } catch (DefinitionException ex) {
                e.println(ex.getMessage());
                code = ExitCodes.BAD_DEFINITION;
            } catch (Exception ex) {
                e.println("pgrewrite: " + Failures.message(ex));
                code = ExitCodes.ERROR;
            }
        }
        return result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private Map<String, Object> restart(long id) {
        Map<String, Object> checked = call((out, err) -> {
            JobDefinition def = actions.restartable(id, err);
            if (def == null) {
                return ExitCodes.NOTHING_TO_DO;
            }
            ByteArrayOutputStream runOut = new ByteArrayOutputStream();
            ByteArrayOutputStream runErr = new ByteArrayOutputStream();
            PrintStream ro = new PrintStream(runOut, true, StandardCharsets.UTF_8);
            PrintStream re = new PrintStream(runErr, true, StandardCharsets.UTF_8);
            Future<Integer> run = restarts.submit(() -> {
                try {
                    int code = actions.restart(def, ro, re);
                    log.info("dashboard: restart of {} ended with exit code {}: {}", id, code, runOut.toString(StandardCharsets.UTF_8).strip());
                    return code;
                } catch (Exception ex) {
                    log.warn("dashboard: restart of {} failed: {}", id, Failures.message(ex));
                    re.println("pgrewrite: " + Failures.message(ex));
                    return ex instanceof io.pgrewrite.job.JobRunner.AlreadyRunningException ? ExitCodes.ALREADY_RUNNING : ExitCodes.ERROR;
                }
            });
            try {
                // Refusals (another process runs it, a precondition) come at once; a run goes on.
                int code = run.get(3, TimeUnit.SECONDS);
                out.print(runOut.toString(StandardCharsets.UTF_8));
                err.print(runErr.toString(StandardCharsets.UTF_8));
                return code;
            } catch (TimeoutException running) {
                out.printf("Restart of execution %d running in this process (%s); the page follows it.%n", id,
                        java.lang.management.ManagementFactory.getRuntimeMXBean().getName());
                return ExitCodes.OK;
            }
        });
        return checked;
    }

    static Map<String, Object> result(int code, String out, String err) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("exitCode", code);
        m.put("ok", code == ExitCodes.OK);
        m.put("out", out.strip());
        m.put("err", err.strip());
        return m;
    }

    void close() {
        restarts.shutdownNow();
    }
}
