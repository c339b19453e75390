package io.pgrewrite.job;

import java.util.ArrayList;
import java.util.List;

import org.springframework.batch.core.job.JobExecution;
import org.springframework.batch.core.step.StepExecution;

/** The operator-facing message of a failed execution: the root messages, not the stack traces. */
public final class Failures {

    private Failures() {
    }

    public static String describe(JobExecution execution) {
        List<String> messages = new ArrayList<>();
        for (Throwable t : execution.getAllFailureExceptions()) {
            add(messages, t);
        }
        for (StepExecution s : execution.getStepExecutions()) {
            for (Throwable t : s.getFailureExceptions()) {
                add(messages, t);
            }
        }
        // "Partition handler returned an unsuccessful step" says less than the partition's own message.
        if (messages.size() > 1) {
            messages.removeIf(m -> m.startsWith("Partition handler returned"));
        }
        return messages.isEmpty() ? execution.getExitStatus().getExitDescription() : String.join("\n", messages);
    }

    private static void add(List<String> messages, Throwable t) {
        String m = message(t);
        if (!messages.contains(m)) {
            messages.add(m);
        }
    }

    /** Our own exceptions carry the full story; a database error says most in its innermost cause. */
    public static String message(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c.getClass().getName().startsWith("io.pgrewrite") || c instanceof IllegalStateException
                    || c instanceof IllegalArgumentException) {
                return c.getMessage();
            }
            if (c instanceof org.springframework.dao.DataAccessException d) {
                return d.getMostSpecificCause().getMessage();
            }
            if (c.getCause() == null) {
                return c.getMessage() == null ? c.toString() : c.getMessage();
            }
        }
        return String.valueOf(t);
    }
}
