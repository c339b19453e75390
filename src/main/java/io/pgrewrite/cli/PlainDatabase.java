package io.pgrewrite.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariDataSource;
import io.pgrewrite.pg.EmbeddedServer;
import org.springframework.jdbc.support.JdbcTransactionManager;
import org.springframework.transaction.PlatformTransactionManager;

/**
 * The database for the commands that only read ({@code status}, {@code plan}), without the Spring context:
 * the same pool as AppContext gives Spring Boot (Hikari, pool name, TCP keepalive, ApplicationName), found
 * the same way (flag, then system property, then SPRING_DATASOURCE_*, else the embedded server), and
 * nothing else. Building the context (JobRepository, Flyway, Batch, Integration, Micrometer, Security)
 * cost 3–4 s of a 4 s {@code status}; none of it is used by a command that only reads.
 */
final class PlainDatabase implements AutoCloseable {

    private static final Set<String> READ_HERE = Set.of("spring.datasource.url", "spring.datasource.username",
            "spring.datasource.password");

    private final HikariDataSource dataSource;

    private PlainDatabase(HikariDataSource dataSource) {
        this.dataSource = dataSource;
    }

    /**
     * Whether this class sees all the configuration Spring Boot would: no other {@code spring.*} system
     * property, no other SPRING_* variable, no application.properties / .yml in ./ or ./config. Where there is
     * one, the command starts the Spring context as before, so it reads what it always read.
     */
    static boolean applies() {
        for (String key : System.getProperties().stringPropertyNames()) {
            if (key.startsWith("spring.") && !READ_HERE.contains(key)) {
                return false;
            }
        }
        for (Map.Entry<String, String> e : System.getenv().entrySet()) {
            String asProperty = e.getKey().toLowerCase().replace('_', '.');
            if (e.getKey().startsWith("SPRING_") && !READ_HERE.contains(asProperty)) {
                return false;
            }
        }
        return Stream.of(Path.of(""), Path.of("config")).noneMatch(PlainDatabase::hasSpringConfig);
    }

    private static boolean hasSpringConfig(Path dir) {
        if (Stream.of("application.properties", "application.yml", "application.yaml").anyMatch(f -> Files.exists(dir.resolve(f)))) {
            return true;
        }
        // Spring Boot also reads config/*/application.*.
        if (!dir.toString().isEmpty() && Files.isDirectory(dir)) {
            try (Stream<Path> subs = Files.list(dir)) {
                return subs.filter(Files::isDirectory).anyMatch(PlainDatabase::hasSpringConfig);
            } catch (java.io.IOException e) {
                return true;
            }
        }
        return false;
    }

    /** The pool; it connects on first use, like Spring Boot's. The embedded server starts here when nothing names a database. */
    static PlainDatabase open(ConnectionOptions conn, int poolSize) {
        Logging.bridgeJavaUtilLogging();
        conn.refuseCredentialsInUrl();
        String url = conn.effectiveUrlOrNull();
        String user = conn.configured(conn.username, "spring.datasource.username", "SPRING_DATASOURCE_USERNAME");
        String password = conn.configured(conn.password, "spring.datasource.password", "SPRING_DATASOURCE_PASSWORD");
        if (url == null) {
            url = new EmbeddedServer(conn.embeddedDir, AppContext.embeddedPort()).start().jdbcUrl();
            user = user != null ? user : "postgres";
            password = password != null ? password : "";
        }
        HikariDataSource ds = new HikariDataSource();
        ds.setJdbcUrl(url);
        ds.setUsername(user);
        ds.setPassword(password);
        ds.setMaximumPoolSize(poolSize);
        // One connection up front, more only when asked for, as AppContext has it for Spring Boot.
        ds.setMinimumIdle(1);
        ds.setPoolName(AppContext.POOL_NAME);
        AppContext.DATA_SOURCE_PROPERTIES.forEach(ds::addDataSourceProperty);
        return new PlainDatabase(ds);
    }

    DataSource dataSource() {
        return dataSource;
    }

    /** What Spring Boot's DataSourceTransactionManagerAutoConfiguration would give (plan --dry-run's TransactionTemplate). */
    PlatformTransactionManager transactionManager() {
        return new JdbcTransactionManager(dataSource);
    }

    @Override
    public void close() {
        dataSource.close();
    }
}
