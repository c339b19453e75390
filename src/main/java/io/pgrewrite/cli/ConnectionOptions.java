package io.pgrewrite.cli;

import java.nio.file.Path;

import picocli.CommandLine.Option;

/**
 * Where the target database is. Without any of these (and without SPRING_DATASOURCE_URL in the
 * environment) pgrewrite starts its embedded PostgreSQL.
 */
public class ConnectionOptions {

    @Option(names = "--url", description = "JDBC URL of the target database (default: $SPRING_DATASOURCE_URL, else the embedded server)")
    String url;

    @Option(names = "--username", description = "Database user (default: $SPRING_DATASOURCE_USERNAME)")
    String username;

    @Option(names = "--password", description = "Database password (default: $SPRING_DATASOURCE_PASSWORD); prefer the environment variable, a flag shows up in ps", arity = "0..1", interactive = false)
    String password;

    @Option(names = "--embedded-dir", description = "Data directory of the embedded server (default: ${DEFAULT-VALUE})", defaultValue = ".pgrewrite/embedded")
    Path embeddedDir;

    @Option(names = "--verbose", description = "Print every log line and stack traces on stderr (without it they go to the log file only)")
    boolean verbose;

    /** The JDBC URL in force: the flag, the Spring property, the environment, else the embedded server's. */
    String effectiveUrl() {
        String s = effectiveUrlOrNull();
        return s != null ? s : "jdbc:postgresql://localhost:" + AppContext.embeddedPort() + "/postgres";
    }

    /**
     * Refuses a URL with {@code user:password@} before its host, before anything connects: the PostgreSQL JDBC driver
     * does not read that form and takes all of it for the host name, which then went into the "unknown host" failure,
     * on stderr and in the log, password included. The message never repeats the URL.
     */
    void refuseCredentialsInUrl() {
        String u = effectiveUrlOrNull();
        if (u != null && u.matches("(?s)jdbc:postgresql://[^/?#]*@.*")) {
            throw new IllegalArgumentException("--url (or SPRING_DATASOURCE_URL) names a user or password before the host"
                    + " (//user:password@host), a form the PostgreSQL JDBC driver does not read: it would take them for the"
                    + " host name. Give them as --username and --password (or SPRING_DATASOURCE_USERNAME and"
                    + " SPRING_DATASOURCE_PASSWORD, or ?user=…&password=… at the URL's end) and run again.");
        }
    }

    /** The JDBC URL named by the flag, the Spring property or the environment; null: the embedded server. */
    String effectiveUrlOrNull() {
        return configured(url, "spring.datasource.url", "SPRING_DATASOURCE_URL");
    }

    /** A setting the way Spring Boot resolves it here: the flag, then the system property, then the environment. */
    String configured(String flag, String property, String variable) {
        return flag != null ? flag : firstNonBlank(System.getProperty(property), System.getenv(variable));
    }

    /** The user in force, or null for the driver's default. */
    String effectiveUser() {
        if (username != null) {
            return username;
        }
        String s = firstNonBlank(System.getProperty("spring.datasource.username"), System.getenv("SPRING_DATASOURCE_USERNAME"));
        return s != null || !embedded() ? s : "postgres";
    }

    private static String firstNonBlank(String a, String b) {
        return !blank(a) ? a : !blank(b) ? b : null;
    }

    /** True when nothing names a database: the embedded default applies. */
    boolean embedded() {
        return url == null && blank(System.getenv("SPRING_DATASOURCE_URL")) && blank(System.getProperty("spring.datasource.url"));
    }

    private static boolean blank(String s) {
        return s == null || s.isBlank();
    }
}
