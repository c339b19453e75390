package io.pgrewrite.cli;

import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.sql.SQLException;
import java.util.Properties;

import org.postgresql.Driver;

/**
 * Says in one sentence why the database could not be reached, naming host, port, database and user,
 * and what to check: the JDBC driver's own message, deep in a cause chain of Spring and Flyway
 * exceptions, often names neither.
 */
final class Connections {

    private Connections() {
    }

    /** The operator's message when {@code e} is a failure to connect; null when it is something else. */
    static String describe(Throwable e, String url, String user) {
        return describe(e, url, user, false);
    }

    /** @param embedded the URL is the embedded server's: the hint is about it, not about --url */
    static String describe(Throwable e, String url, String user, boolean embedded) {
        String reason = null;
        String check = "Check --url (or SPRING_DATASOURCE_URL), and that the server runs and accepts TCP connections there.";
        for (Throwable c = e; c != null && c.getCause() != c; c = c.getCause()) {
            if (c instanceof ConnectException) {
                reason = "connection refused";
            } else if (c instanceof UnknownHostException) {
                reason = "unknown host";
            } else if (c instanceof NoRouteToHostException) {
                reason = "no route to host";
            } else if (c instanceof SocketTimeoutException && reason == null) {
                reason = "timed out";
            } else if (c instanceof SQLException s && s.getSQLState() != null && reason == null) {
                String state = s.getSQLState();
                if (state.startsWith("28")) {
                    reason = firstLine(s.getMessage());
                    check = "Check --username and --password (or SPRING_DATASOURCE_USERNAME / SPRING_DATASOURCE_PASSWORD),"
                            + " and pg_hba.conf on the server.";
                } else if (state.equals("3D000")) {
                    reason = firstLine(s.getMessage());
                    check = "Check the database name in --url (or SPRING_DATASOURCE_URL).";
                } else if (state.startsWith("08") || state.equals("53300") || state.equals("57P03")) {
                    reason = firstLine(s.getMessage());
                }
            }
            if (c.getCause() == null) {
                break;
            }
        }
        if (reason == null) {
            return null;
        }
        if (embedded && check.startsWith("Check --url")) {
            check = "The embedded server did not accept connections (PGREWRITE_EMBEDDED_PORT picks its port);"
                    + " run again, or point --url (SPRING_DATASOURCE_URL) at your own database.";
        }
        Properties p = url == null ? null : Driver.parseURL(url, null);
        String where = p == null ? withoutCredentials(url)
                : p.getProperty("PGHOST", "localhost").replaceAll("^.*@", "") + ":" + p.getProperty("PGPORT", "5432");
        String db = p == null ? "?" : p.getProperty("PGDBNAME", "?");
        String who = user != null ? user : p != null && p.getProperty("user") != null ? p.getProperty("user")
                : System.getProperty("user.name");
        return "Cannot connect to PostgreSQL at " + where + " (database " + db + ", user " + who + "): " + reason + ". " + check;
    }

    /** A URL the driver could not read, for a message: without {@code user:password@} and {@code password=…}. */
    static String withoutCredentials(String url) {
        if (url == null) {
            return "null";
        }
        return url.replaceAll("//[^/@]*@", "//").replaceAll("(?i)(password=)[^&;]*", "$1***");
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return (nl < 0 ? s : s.substring(0, nl)).trim();
    }
}
