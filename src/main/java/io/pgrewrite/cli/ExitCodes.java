package io.pgrewrite.cli;

/** Exit codes cron, Quartz and Kubernetes can act on; the README has the same table. */
public final class ExitCodes {

    /** Done. */
    public static final int OK = 0;
    /** The job ran and a partition (or a step) failed; the message says which and what next. `restart` continues it. */
    public static final int JOB_FAILED = 1;
    /** Wrong command-line usage. */
    public static final int USAGE = 2;
    /** The job definition is invalid; nothing touched the database. */
    public static final int BAD_DEFINITION = 3;
    /** A precondition failed (plan); nothing was changed. */
    public static final int PRECONDITION = 4;
    /** The job already completed, or there is nothing to restart. */
    public static final int NOTHING_TO_DO = 5;
    /** Another process is running this job. */
    public static final int ALREADY_RUNNING = 6;
    /** The job stopped before the end (stop, maintenance window); `restart` continues it. */
    public static final int STOPPED = 7;
    /** Anything else: the database is unreachable, an unexpected error. */
    public static final int ERROR = 9;

    private ExitCodes() {
    }
}
