package io.pgrewrite.web;

import java.util.Map;

import io.pgrewrite.cli.ExitCodes;

/** pause, resume, postpone-swap, allow-swap: the runtime controls of issue 11, once they exist. */
final class Controls {

    private Controls() {
    }

    /** The actions this build can run. */
    static java.util.List<String> supported() {
        return java.util.List.of("stop", "restart", "abandon");
    }

    /** Whether abandon can clean up after itself. */
    static boolean cleanup() {
        return false;
    }

    static Map<String, Object> run(String action, long id, Map<String, String> params, java.util.function.Function<Actions.Command, Map<String, Object>> call) {
        return Actions.result(ExitCodes.USAGE, "", "Unknown action " + action + ".");
    }
}
