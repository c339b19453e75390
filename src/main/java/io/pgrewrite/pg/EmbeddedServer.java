package io.pgrewrite.pg;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The embedded default: a PostgreSQL server from Maven Central's binaries whose data directory
 * lives in a local folder and survives restarts of pgrewrite, so that {@code restart} works on it too.
 * A server left running by a pgrewrite that was killed is reused, not started twice.
 */
public final class EmbeddedServer {

    private static final Logger log = LoggerFactory.getLogger(EmbeddedServer.class);
    public static final int DEFAULT_PORT = 54329;

    private final Path dataDirectory;
    private final int port;
    private EmbeddedPostgres server;

    public EmbeddedServer(Path dataDirectory, int port) {
        this.dataDirectory = dataDirectory.toAbsolutePath().normalize();
        this.port = port;
    }

    public String jdbcUrl() {
        return "jdbc:postgresql://localhost:" + port + "/postgres";
    }

    public EmbeddedServer start() {
        if (Files.exists(dataDirectory.resolve("postmaster.pid")) && listening()) {
            log.info("Embedded PostgreSQL already running with data in {} (port {}); reusing it", dataDirectory, port);
            return this;
        }
        log.info("Embedded PostgreSQL with data in {} (port {}); set SPRING_DATASOURCE_URL to use your own database",
                dataDirectory, port);
        try {
            Files.createDirectories(dataDirectory);
            // A postmaster.pid whose server is gone (killed machine) would stop pg_ctl from starting.
            Files.deleteIfExists(dataDirectory.resolve("postmaster.pid"));
            server = EmbeddedPostgres.builder()
                    .setDataDirectory(dataDirectory)
                    .setCleanDataDirectory(false)
                    .setPort(port)
                    .setServerConfig("max_locks_per_transaction", "256")
                    .setServerConfig("max_connections", "100")
                    .start();
        } catch (IOException e) {
            // IllegalStateException: the operator sees this sentence, not the innermost cause's.
            throw new IllegalStateException("Could not start the embedded PostgreSQL with data in " + dataDirectory
                    + " on port " + port + ": " + e.getMessage() + ". Is the port taken? Set PGREWRITE_EMBEDDED_PORT,"
                    + " or point --url (SPRING_DATASOURCE_URL) at your own database.", e);
        }
        Runtime.getRuntime().addShutdownHook(new Thread(this::stop, "embedded-postgres-stop"));
        return this;
    }

    public void stop() {
        if (server != null) {
            try {
                server.close();
            } catch (IOException e) {
                log.warn("could not stop the embedded PostgreSQL: {}", e.getMessage());
            }
            server = null;
        }
    }

    private boolean listening() {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("localhost", port), 500);
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
