package io.pgrewrite.web;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.pgrewrite.cli.ExecutionActions;
import io.pgrewrite.control.JobControls;

/**
 * The runtime controls (pause / resume, postpone / allow swaps) as the page shows them: what holds the execution
 * back now, from {@code pgrewrite.job_control} like {@code status}; the buttons run the commands themselves.
 */
final class Controls {

    private Controls() {
    }

    /** The actions this build can run from the page. */
    static List<String> supported() {
        List<String> all = new ArrayList<>(List.of("stop", "restart", "abandon"));
        all.addAll(ExecutionActions.CONTROLS);
        return all;
    }

    /** Whether abandon can clean up after itself ({@code abandon --cleanup}). */
    static boolean cleanup() {
        return true;
    }

    /** paused, swapsPostponed, throttled (why, or null), settings, describe, updatedBy. */
    static Map<String, Object> state(JobControls controls, long executionId) {
        JobControls.State s = controls.state(executionId);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("paused", s.paused());
        m.put("swapsPostponed", s.swapPostponed());
        m.put("throttled", s.throttled() == null ? null : s.throttled().describe());
        m.put("settings", s.settings());
        m.put("describe", s.describe());
        m.put("updatedBy", s.updatedBy());
        m.put("updatedAt", s.updatedAt() == null ? null : s.updatedAt().toString());
        return m;
    }
}
