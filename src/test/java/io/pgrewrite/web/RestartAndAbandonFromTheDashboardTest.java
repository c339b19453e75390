package io.pgrewrite.web;

import static io.pgrewrite.testsupport.Tables.one;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.time.LocalDate;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.testsupport.CatalogSnapshot;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.JvmProcess;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.Alert;
import org.openqa.selenium.By;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The morning after: one job was stopped in the night (table {@code ev}, a compact), another failed on a value that
 * does not cast (table {@code ev2}, a column change, its first day already swapped). The operator opens the
 * dashboard of a worker process in a browser (headless Chromium):
 * <ul>
 * <li>signed out, Restart and Abandon ask for confirmation, are refused by the server, and change nothing; dismissing
 *     the confirmation sends nothing;
 * <li>signed in, Restart of the stopped execution runs it in the page's process to the end (the database shows a
 *     completed execution and every row there once), and Abandon with cleanup of the failed one leaves {@code ev2}
 *     as it was before the job: the same catalog, the same rows, nothing of pgrewrite's left.
 * </ul>
 * And the reads: a request from this host that names another host (a DNS-rebinding page in the operator's browser)
 * reads nothing without credentials; with them it does; actions need credentials and the CSRF token whatever the
 * host says.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RestartAndAbandonFromTheDashboardTest {

    static final int DAYS = 3;
    static final int ROWS = 2000;
    static final String PASSWORD = "s3cret-for-the-morning";
    static final String BAD = "(CASE WHEN id = 1000250 THEN 'not a number' ELSE massa::text END)::integer";

    @TempDir
    static Path dir;

    TestDatabase.Database db;
    JvmProcess worker;
    int port;
    long stopped;
    long failed;
    List<String> catalogBefore;
    List<String> rowsBefore;

    @BeforeAll
    void aStoppedJobAndAFailedOne() throws Exception {
        db = TestDatabase.newDatabase("dashboard_morning");
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), DAYS, ROWS);
            Tables.daily(c, "public", "ev2", LocalDate.of(2024, 3, 1), DAYS, 500);
            catalogBefore = CatalogSnapshot.of(c, "ev2");
            rowsBefore = CatalogSnapshot.rows(c, "ev2");
        }
        Path compact = dir.resolve("night-compact.yaml");
        Files.writeString(compact, "name: night-compact\ntable: ev\noperation: compact\nworkers: 1\n"
                + "copy:\n  chunk-rows: 500\n  pause: 300ms\n");
        CompletableFuture<CliRun> run = CompletableFuture.supplyAsync(() -> CliRun.run(db, "run", compact.toString()));
        stopped = waitForRowsCopied(run);
        CliRun stop = CliRun.run(db, "stop", String.valueOf(stopped), "--wait");
        assertThat(stop.exitCode()).as(stop.toString()).isEqualTo(ExitCodes.OK);
        assertThat(run.get(120, TimeUnit.SECONDS).exitCode()).isEqualTo(ExitCodes.STOPPED);

        Path retype = dir.resolve("night-retype.yaml");
        Files.writeString(retype, "name: night-retype\ntable: ev2\noperation: alter-column-type\ncolumn: massa\ntype: integer\n"
                + "using: \"" + BAD + "\"\nworkers: 1\n");
        CliRun bad = CliRun.run(db, "run", retype.toString());
        assertThat(bad.exitCode()).as(bad.toString()).isEqualTo(ExitCodes.JOB_FAILED);
        failed = Long.parseLong(bad.out().replaceAll("(?s).*Execution (\\d+): FAILED.*", "$1"));

        port = DashboardBrowserTest.freePort();
        worker = JvmProcess.start("worker", List.of("-Dpgrewrite.http.password=" + PASSWORD), db,
                "worker", "--http-port", String.valueOf(port), "--max-idle", "10m");
        worker.await(l -> l.startsWith("Dashboard at"), 180);
    }

    @AfterAll
    void stopTheWorker() throws Exception {
        if (worker != null) {
            worker.close();
        }
    }

    @Test
    void restartTheStoppedJobAndAbandonTheFailedOneWithCleanup() throws Exception {
        Chromium.assumeInstalled();
        String base = "http://localhost:" + port;
        try (DashboardBrowserTest.Browser browser = new DashboardBrowserTest.Browser(dir.resolve("chromium"))) {
            ChromeDriver chrome = browser.driver;
            WebDriverWait wait = new WebDriverWait(chrome, Duration.ofSeconds(120), Duration.ofMillis(200));
            // The page re-renders its lists as the job moves: an element found a moment ago may be gone; look again.
            wait.ignoring(StaleElementReferenceException.class);
            wait.withMessage(() -> "the page says: " + chrome.findElement(By.id("notes")).getText() + " | "
                    + chrome.findElement(By.id("result")).getText() + "\n--- the worker's output:\n" + worker.output());
            show(chrome, wait, base, stopped, "STOPPED");
            long executionsBefore = count("SELECT count(*) FROM pgrewrite.batch_job_execution");

            // Signed out: the confirmation comes; dismissed, nothing is sent; accepted, the server refuses.
            assertThat(ask(chrome, wait, "restart").getText()).startsWith("Restart execution " + stopped + " in this process?");
            chrome.switchTo().alert().dismiss();
            Thread.sleep(500);
            assertThat(chrome.findElement(By.id("result")).isDisplayed()).as("dismissed: nothing sent").isFalse();
            ask(chrome, wait, "restart").accept();
            refusedSignedOut(chrome, wait);
            assertThat(count("SELECT count(*) FROM pgrewrite.batch_job_execution")).isEqualTo(executionsBefore);
            assertThat(DashboardBrowserTest.status(db, stopped)).isEqualTo("STOPPED");

            show(chrome, wait, base, failed, "FAILED");
            chrome.findElement(By.id("cleanup")).click();
            assertThat(ask(chrome, wait, "abandon").getText()).startsWith("Abandon execution " + failed + " for good?")
                    .contains("With cleanup");
            chrome.switchTo().alert().accept();
            refusedSignedOut(chrome, wait);
            assertThat(DashboardBrowserTest.status(db, failed)).isEqualTo("FAILED");
            assertThat(count("SELECT count(*) FROM pg_attribute WHERE attrelid = 'ev2'::regclass AND attname = 'massa__pgrewrite'"
                    + " AND NOT attisdropped")).as("the shadow column is still there").isOne();

            chrome.findElement(By.id("password")).sendKeys(PASSWORD);
            chrome.findElement(By.id("signin-button")).click();
            wait.until(d -> d.findElement(By.id("who")).getText().equals("signed in as operator"));

            // Abandon with cleanup: ev2 is as it was before the job.
            ask(chrome, wait, "abandon").accept();
            wait.until(d -> d.findElement(By.id("result")).getText().contains("Execution " + failed + " abandoned and cleaned up"));
            assertThat(chrome.findElement(By.id("result")).getText()).contains("swapped and staying so", "ev2_20240301");
            wait.until(d -> d.findElement(By.id("status")).getText().equals("ABANDONED"));
            assertThat(DashboardBrowserTest.status(db, failed)).isEqualTo("ABANDONED");
            try (Connection c = db.connect(); Statement st = c.createStatement()) {
                assertThat(CatalogSnapshot.of(c, "ev2")).containsExactlyElementsOf(catalogBefore);
                assertThat(CatalogSnapshot.rows(c, "ev2")).containsExactlyElementsOf(rowsBefore);
                assertThat(one(st, "SELECT count(*) FROM pgrewrite.partition_state WHERE job_key = 'night-retype@public.ev2'")).isZero();
            }

            // Restart: the stopped job runs to its end in the worker's process, and the page follows it.
            show(chrome, wait, base, stopped, "STOPPED");
            ask(chrome, wait, "restart").accept();
            wait.until(d -> d.findElement(By.id("result")).getText().matches("(?s).*(running in this process|COMPLETED).*"));
            long restarted = eventually(() -> count("SELECT count(*) FROM pgrewrite.batch_job_execution e JOIN pgrewrite.batch_job_instance i"
                    + " USING (job_instance_id) WHERE i.job_name = 'rewrite' AND e.status = 'COMPLETED'"), 180);
            assertThat(restarted).as(worker.output()).isOne();
            try (Connection c = db.connect(); Statement st = c.createStatement()) {
                assertThat(one(st, "SELECT count(*) FROM ev")).isEqualTo((long) DAYS * ROWS);
                assertThat(one(st, "SELECT count(DISTINCT id) FROM ev")).isEqualTo((long) DAYS * ROWS);
                assertThat(one(st, "SELECT count(*) FROM pgrewrite.partition_state WHERE job_key = 'night-compact@public.ev'"
                        + " AND state = 'retired'")).isEqualTo(DAYS);
                // Both jobs over: nothing of pgrewrite's is left in the database (copies, logs, triggers, columns).
                assertThat(leftovers(st)).isEmpty();
            }
            long id = count("SELECT max(job_execution_id) FROM pgrewrite.batch_job_execution e JOIN pgrewrite.batch_job_instance i"
                    + " USING (job_instance_id) WHERE i.job_name = 'rewrite'");
            // The list updates itself: the new execution, completed, without a reload.
            wait.until(d -> d.findElement(By.cssSelector("#executions a[data-id='" + id + "']")).getText().contains("COMPLETED"));
        }
    }

    /** Host names this host or not: a DNS-rebinding page sends its own name. Raw sockets: Java's client sets Host itself. */
    @Test
    void aPageOfAnotherSiteReadsNothingWithoutCredentials() throws Exception {
        String job = "night-compact@public.ev";
        for (String host : List.of("localhost:" + port, "127.0.0.1:" + port, "[::1]:" + port, "LocalHost")) {
            Http r = request("GET", "/api/executions", host, null, "");
            assertThat(r.status).as(host + ": " + r.text).isEqualTo(200);
            assertThat(r.text).contains(job);
        }
        for (String host : List.of("evil.example:" + port, "evil.example", "localhost.evil.example:" + port, "127.0.0.1.nip.io:" + port)) {
            Http r = request("GET", "/api/executions", host, null, "");
            assertThat(r.status).as("Host: " + host + ": " + r.text).isEqualTo(401);
            assertThat(r.text).doesNotContain(job);
            assertThat(request("GET", "/api/executions/" + stopped, host, null, "").status).isEqualTo(401);
            assertThat(request("GET", "/", host, null, "").status).isEqualTo(401);
        }
        // With the operator's credentials the host does not matter (a reverse proxy may name itself).
        Http signedIn = request("GET", "/api/executions", "evil.example:" + port, basic(), "");
        assertThat(signedIn.status).as(signedIn.text).isEqualTo(200);
        assertThat(signedIn.text).contains(job);
        // Prometheus and health scrape under any name, as before.
        assertThat(request("GET", "/actuator/prometheus", "evil.example:" + port, null, "").status).isEqualTo(200);

        // Actions: credentials and the CSRF token, whatever the host. Execution 0 does not exist: a request that
        // passes the checks gets the command's own answer.
        Http session = request("GET", "/api/session", "localhost:" + port, null, "");
        String token = session.text.replaceAll("(?s).*Set-Cookie: XSRF-TOKEN=([^;\\r\\n]+).*", "$1");
        assertThat(token).doesNotContain("\n");
        String csrf = "Cookie: XSRF-TOKEN=" + token + "\r\nX-XSRF-TOKEN: " + token + "\r\n";
        for (String host : List.of("localhost:" + port, "evil.example:" + port)) {
            assertThat(request("POST", "/api/executions/0/stop", host, null, csrf).status).as(host).isEqualTo(401);
            Http noToken = request("POST", "/api/executions/0/stop", host, basic(), "");
            assertThat(noToken.status).as(host).isEqualTo(403);
            assertThat(noToken.text).contains("CSRF");
            Http both = request("POST", "/api/executions/0/stop", host, basic(), csrf);
            assertThat(both.status).as(both.text).isEqualTo(200);
            assertThat(both.text).contains("No pgrewrite execution 0");
        }
    }

    record Http(int status, String text) {
    }

    /** One HTTP/1.1 request over a socket to the worker, with exactly this Host header ("" for none). */
    Http request(String method, String path, String host, String authorization, String headers) throws Exception {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(30_000);
            StringBuilder req = new StringBuilder(method + " " + path + " HTTP/1.1\r\n");
            if (!host.isEmpty()) {
                req.append("Host: ").append(host).append("\r\n");
            }
            req.append("X-Requested-With: XMLHttpRequest\r\nConnection: close\r\n").append(headers);
            if (authorization != null) {
                req.append("Authorization: ").append(authorization).append("\r\n");
            }
            if (method.equals("POST")) {
                req.append("Content-Length: 0\r\n");
            }
            req.append("\r\n");
            OutputStream out = s.getOutputStream();
            out.write(req.toString().getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            InputStream in = s.getInputStream();
            String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            return new Http(Integer.parseInt(text.substring(9, 12)), text);
        }
    }

    /** Opens the page of one execution and waits until it shows that status. */
    static void show(ChromeDriver chrome, WebDriverWait wait, String base, long id, String status) {
        chrome.get(base + "/#" + id);
        wait.until(d -> d.findElement(By.id("title")).getText().startsWith("Execution " + id + " ")
                && d.findElement(By.id("status")).getText().equals(status));
        chrome.executeScript("document.getElementById('result').hidden = true");
    }

    /** Presses an action's button; returns the confirmation it asks. */
    static Alert ask(ChromeDriver chrome, WebDriverWait wait, String action) {
        chrome.executeScript("document.getElementById('result').hidden = true; document.getElementById('result').textContent = ''");
        WebElement b = chrome.findElement(By.cssSelector("#actions button[data-action='" + action + "']"));
        wait.until(ExpectedConditions.elementToBeClickable(b));
        b.click();
        return wait.until(ExpectedConditions.alertIsPresent());
    }

    static void refusedSignedOut(ChromeDriver chrome, WebDriverWait wait) {
        wait.until(d -> d.findElement(By.id("result")).isDisplayed() && d.findElement(By.id("result")).getText().contains("sign in"));
    }

    long waitForRowsCopied(CompletableFuture<CliRun> run) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            if (run.isDone()) {
                throw new AssertionError("the compact ended before it copied 500 rows: " + run.get());
            }
            try (Connection c = db.connect(); Statement st = c.createStatement()) {
                if (one(st, "SELECT count(*) FROM pg_tables WHERE schemaname = 'pgrewrite' AND tablename = 'partition_state'") > 0
                        && one(st, "SELECT coalesce(sum(rows_copied), 0) FROM pgrewrite.partition_state") >= 500) {
                    return one(st, "SELECT max(job_execution_id) FROM pgrewrite.batch_job_execution e JOIN pgrewrite.batch_job_instance i"
                            + " USING (job_instance_id) WHERE i.job_name = 'rewrite'");
                }
            }
            Thread.sleep(100);
        }
        throw new AssertionError("the compact copied nothing within 60 s");
    }

    static String basic() {
        return "Basic " + java.util.Base64.getEncoder().encodeToString(("operator:" + PASSWORD).getBytes(StandardCharsets.UTF_8));
    }

    /** What pgrewrite leaves on a table it works on (as AbandonCleanupTest looks for it). */
    static List<String> leftovers(Statement st) throws Exception {
        List<String> found = new java.util.ArrayList<>();
        try (java.sql.ResultSet rs = st.executeQuery("SELECT relname FROM pg_class WHERE relname ~ '__(rw|old)$' OR relname ~ '^log_'"
                + " UNION ALL SELECT proname FROM pg_proc WHERE pronamespace = 'pgrewrite'::regnamespace"
                + " UNION ALL SELECT conname FROM pg_constraint WHERE conname LIKE 'pgrewrite%'"
                + " UNION ALL SELECT tgname FROM pg_trigger WHERE tgname LIKE '%pgrewrite%'"
                + " UNION ALL SELECT attname FROM pg_attribute WHERE attname LIKE '%\\_\\_pgrewrite' AND NOT attisdropped")) {
            while (rs.next()) {
                found.add(rs.getString(1));
            }
        }
        return found;
    }

    long count(String sql) throws Exception {
        return DashboardBrowserTest.count(db, sql);
    }

    static long eventually(java.util.concurrent.Callable<Long> c, long seconds) throws Exception {
        return DashboardBrowserTest.eventually(c, v -> v > 0, seconds);
    }
}
