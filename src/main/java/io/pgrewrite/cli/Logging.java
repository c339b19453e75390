package io.pgrewrite.cli;

import java.nio.file.Path;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.FileAppender;
import ch.qos.logback.core.filter.Filter;
import ch.qos.logback.core.spi.FilterReply;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.bridge.SLF4JBridgeHandler;

/**
 * Two audiences: the operator reads stderr, the log file keeps the whole story. Without {@code --verbose}
 * the console shows pgrewrite's own lines and no stack traces (logback.xml); failures are told in a line
 * or two and their stack trace goes to the log file, whose path the message names.
 */
public final class Logging {

    /** Full failures, stack traces included: the log file, and the console only with --verbose. */
    static final Logger FAILURE = LoggerFactory.getLogger("pgrewrite.failure");

    private static volatile boolean verbose;

    private Logging() {
    }

    static void verbose(boolean on) {
        verbose = on;
    }

    static boolean verbose() {
        return verbose;
    }

    /** java.util.logging (the JDBC driver's) into logback, as Spring Boot's logging system does where it starts. */
    static void bridgeJavaUtilLogging() {
        if (!SLF4JBridgeHandler.isInstalled()) {
            SLF4JBridgeHandler.removeHandlersForRootLogger();
            SLF4JBridgeHandler.install();
        }
    }

    /** Where the log file is (absolute), or null when logging is not logback's or has no file. */
    static Path logFile() {
        if (LoggerFactory.getILoggerFactory() instanceof LoggerContext lc) {
            Appender<ILoggingEvent> a = lc.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME).getAppender("file");
            if (a instanceof FileAppender<ILoggingEvent> f && f.isStarted() && f.getFile() != null) {
                return Path.of(f.getFile()).toAbsolutePath().normalize();
            }
        }
        return null;
    }

    /** The sentence that says where the details are. */
    static String whereDetailsAre() {
        if (verbose) {
            return "";
        }
        Path f = logFile();
        return f == null ? " Run again with --verbose for the stack trace."
                : " Stack trace in " + f + " (or run again with --verbose).";
    }

    /**
     * The log file; where it cannot be written (a read-only working directory) the temporary directory's
     * {@code pgrewrite-USER.log}, else none: a log file that cannot be opened must not stop a command.
     */
    public static final class LogFile extends FileAppender<ILoggingEvent> {
        @Override
        public void start() {
            for (String candidate : new String[] {getFile(),
                    Path.of(System.getProperty("java.io.tmpdir"), "pgrewrite-" + System.getProperty("user.name") + ".log").toString()}) {
                if (candidate != null && writable(Path.of(candidate))) {
                    setFile(candidate);
                    super.start();
                    return;
                }
            }
        }

        private static boolean writable(Path file) {
            try {
                Path dir = file.toAbsolutePath().getParent();
                java.nio.file.Files.createDirectories(dir);
                return java.nio.file.Files.exists(file) ? java.nio.file.Files.isWritable(file) : java.nio.file.Files.isWritable(dir);
            } catch (java.io.IOException | RuntimeException e) {
                return false;
            }
        }
    }

    /** The quiet console: pgrewrite's own loggers only, unless --verbose. */
    public static final class ConsoleFilter extends Filter<ILoggingEvent> {
        @Override
        public FilterReply decide(ILoggingEvent e) {
            if (verbose) {
                return FilterReply.DENY;
            }
            return e.getLoggerName().startsWith("io.pgrewrite") ? FilterReply.NEUTRAL : FilterReply.DENY;
        }
    }

    /** The verbose console: everything, stack traces included, only with --verbose. */
    public static final class VerboseFilter extends Filter<ILoggingEvent> {
        @Override
        public FilterReply decide(ILoggingEvent e) {
            return verbose ? FilterReply.NEUTRAL : FilterReply.DENY;
        }
    }
}
