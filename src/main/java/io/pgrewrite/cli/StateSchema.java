package io.pgrewrite.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.HashSet;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.sql.DataSource;

import org.flywaydb.core.Flyway;
import org.springframework.core.io.Resource;
import org.springframework.core.io.support.PathMatchingResourcePatternResolver;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * Where pgrewrite's own schema stands, read without creating or changing anything (a read-only command
 * must not run Flyway's migrate: on a database pgrewrite never ran on, that created schema pgrewrite).
 */
enum StateSchema {
    /** pgrewrite never ran here (no migration history): no executions. */
    ABSENT,
    /** Every migration this pgrewrite ships is applied. */
    CURRENT,
    /** An older pgrewrite made it: the migrations must run before its tables can be read as this version reads them. */
    BEHIND;

    /** Takes no lock when the table is missing; to_regclass does not fail on a schema that is not there. */
    static final String HISTORY_EXISTS = "SELECT to_regclass('pgrewrite.flyway_schema_history') IS NOT NULL";

    /** AccessShareLock on Flyway's history table: a plain read, which a migration running elsewhere does not block. */
    static final String APPLIED = "SELECT version FROM pgrewrite.flyway_schema_history WHERE success AND version IS NOT NULL";

    /** pgrewrite's own schema, and where its migrations are: AppContext's Flyway settings. */
    static final String SCHEMA = "pgrewrite";

    static final String LOCATIONS = "classpath:sql/migration";

    private static final Pattern VERSIONED = Pattern.compile("V([0-9_.]+)__.*\\.sql");

    static StateSchema of(JdbcTemplate jdbc) {
        if (!jdbc.queryForObject(HISTORY_EXISTS, Boolean.class)) {
            return ABSENT;
        }
        Set<String> applied = new HashSet<>(jdbc.queryForList(APPLIED, String.class));
        return applied.containsAll(shipped()) ? CURRENT : BEHIND;
    }

    /**
     * Runs the migrations this pgrewrite ships where any is missing, as Spring Boot's Flyway would at start-up
     * (the same schema and locations); where every one is applied (the usual start) two reads and no Flyway. A
     * migration running at the same time elsewhere is Flyway's to serialize, as before.
     */
    static void migrate(DataSource dataSource) {
        if (of(new JdbcTemplate(dataSource)) == CURRENT) {
            return;
        }
        Flyway.configure(StateSchema.class.getClassLoader()).dataSource(dataSource).schemas(SCHEMA).defaultSchema(SCHEMA)
                .locations(LOCATIONS).load().migrate();
    }

    /** The versions of the migrations in the jar (sql/migration, AppContext's spring.flyway.locations), as Flyway spells them. */
    static Set<String> shipped() {
        Set<String> versions = new HashSet<>();
        try {
            for (Resource r : new PathMatchingResourcePatternResolver(StateSchema.class.getClassLoader())
                    .getResources("classpath*:sql/migration/V*__*.sql")) {
                Matcher m = VERSIONED.matcher(r.getFilename() == null ? "" : r.getFilename());
                if (m.matches()) {
                    versions.add(m.group(1).replace('_', '.'));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Could not list pgrewrite's migrations (sql/migration) on the class path", e);
        }
        if (versions.isEmpty()) {
            throw new IllegalStateException("No migrations (sql/migration/V*__*.sql) on the class path: the jar is incomplete.");
        }
        return versions;
    }
}
