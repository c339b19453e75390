package io.pgrewrite.pg;

/**
 * How pgrewrite's trigger functions are written: a dollar-quoted body whose tag the body cannot close,
 * and the settings every one of them carries (see {@link #TRIGGER_FUNCTION}).
 */
public final class FunctionBodies {

    /**
     * {@code name} is schema-qualified; the body is {@link #dollarQuote dollar-quoted}.
     * <p>
     * SECURITY DEFINER, so that the function runs as its owner, pgrewrite's role, which created it and
     * owns everything it writes to (schema pgrewrite, the change logs and their sequences,
     * pgrewrite.sync_error). The alternative, grants to whoever writes, cannot be scoped: pgrewrite does
     * not know the application's roles (a web application's, a batch job's, the owner of a logical
     * replication subscription whose apply worker fires ENABLE ALWAYS triggers), and each of them would
     * need USAGE on schema pgrewrite, INSERT on every log and USAGE on every log's sequence, granted before
     * its first write. With SECURITY DEFINER the application needs nothing beyond its DML on the table.
     * <p>
     * The function can do nothing but what its fixed body says; a trigger function cannot be called
     * outside its trigger, so EXECUTE is not worth revoking. search_path is pinned (the
     * CVE-2018-1058 rule for SECURITY DEFINER functions): pg_catalog first, pg_temp last (explicitly,
     * so that nobody's temporary objects come first), and between them only the schemas given, which
     * the caller chooses; every name pgrewrite itself writes into a body is schema-qualified.
     */
    public static final String TRIGGER_FUNCTION = """
            CREATE OR REPLACE FUNCTION %1$s() RETURNS trigger LANGUAGE plpgsql
            SECURITY DEFINER SET search_path = %2$s
            AS %3$s""";

    private FunctionBodies() {
    }

    /** The CREATE OR REPLACE FUNCTION of a trigger function, see {@link #TRIGGER_FUNCTION}. */
    public static String triggerFunction(String qualifiedName, String searchPath, String body) {
        return String.format(TRIGGER_FUNCTION, qualifiedName, searchPath, dollarQuote(body));
    }

    /** {@code pg_catalog, <schemas>, pg_temp}; the schemas already quoted. */
    public static String searchPath(String... quotedSchemas) {
        StringBuilder path = new StringBuilder("pg_catalog");
        for (String s : quotedSchemas) {
            path.append(", ").append(s);
        }
        return path.append(", pg_temp").toString();
    }

    /**
     * {@code $pgrw$body$pgrw$}, or with {@code $pgrw1$}, {@code $pgrw2$}, ... when the body contains the
     * tag: the body (which may carry an expression from a job definition) can never end the string
     * early. A tag is also refused when the body ends in a prefix of it ({@code ...$pgrw} followed by
     * the closing {@code $pgrw$} would close one character early), so the closing tag is found exactly
     * where it was put.
     */
    public static String dollarQuote(String body) {
        for (int i = 0; ; i++) {
            String tag = i == 0 ? "$pgrw$" : "$pgrw" + i + "$";
            if (!body.contains(tag) && (body + tag).indexOf(tag) == body.length()) {
                return tag + body + tag;
            }
        }
    }
}
