package io.pgrewrite.web;

import static io.pgrewrite.testsupport.Tables.one;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.time.LocalDate;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.testsupport.JvmProcess;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * An operator watches a 30-partition job in a browser while it runs (headless Chromium): the grid fills with one
 * cell per partition, a partition turns done; a button pressed without signing in is refused and changes nothing;
 * signed in, Pause pauses the job (the database says so), Postpone swaps postpones them (likewise), and Stop stops it
 * (the run ends STOPPED, exit 7). Restart and Abandon: {@link RestartAndAbandonFromTheDashboardTest}.
 * The screenshot of the running job is what the README shows (target/dashboard.png; copied to docs/ with
 * -Ddashboard.screenshot=docs/dashboard.png).
 */
class DashboardBrowserTest {

    static final int DAYS = 30;
    static final String PASSWORD = "s3cret-for-the-test";

    @TempDir
    Path dir;

    @Test
    void watchPauseAndStopARunningJob() throws Exception {
        Chromium.assumeInstalled();
        TestDatabase.Database db = TestDatabase.newDatabase("dashboard");
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), DAYS, 1500);
        }
        Path job = dir.resolve("dash.yaml");
        Files.writeString(job, "name: nightly-compact\ntable: ev\noperation: compact\nworkers: 2\n"
                + "copy:\n  chunk-rows: 100\n  pause: 400ms\ndisk:\n  max-extra: 64MB\n");
        int port = freePort();
        try (JvmProcess run = JvmProcess.start("run", List.of("-Dpgrewrite.http.password=" + PASSWORD), db,
                "run", job.toString(), "--http-port", String.valueOf(port));
                Browser browser = new Browser(dir.resolve("chromium"))) {
            run.await(l -> l.startsWith("Dashboard at"), 180);
            String base = "http://localhost:" + port;
            ChromeDriver chrome = browser.driver;
            chrome.get(base + "/");
            WebDriverWait wait = new WebDriverWait(chrome, Duration.ofSeconds(120), Duration.ofMillis(200));
            // The page re-renders its lists as the job moves: an element found a moment ago may be gone; look again.
            wait.ignoring(StaleElementReferenceException.class);
            wait.withMessage(() -> "the page says: " + chrome.findElement(By.id("notes")).getText() + " | "
                    + chrome.findElement(By.id("result")).getText() + " | " + chrome.findElement(By.id("updated")).getText()
                    + "\n--- the run's output:\n" + run.output());

            // The grid fills: one cell per partition, and one turns done while the job runs.
            wait.until(d -> d.findElements(By.cssSelector("#grid i")).size() == DAYS);
            wait.until(d -> !d.findElements(By.cssSelector("#grid i.done")).isEmpty());
            assertThat(chrome.findElement(By.id("status")).getText()).startsWith("STARTED");
            long executionId = Long.parseLong(chrome.findElement(By.id("title")).getText().replaceAll("^Execution (\\d+).*", "$1"));
            // Hover shows a partition's figures.
            WebElement first = chrome.findElements(By.cssSelector("#grid i.done")).get(0);
            new org.openqa.selenium.interactions.Actions(chrome).moveToElement(first).perform();
            wait.until(d -> d.findElement(By.id("tip")).getText().contains("verification"));
            assertThat(chrome.findElement(By.id("tip")).getText()).contains("ev_2024", "rows", "size before", "checksums equal");
            first.click();
            assertThat(chrome.findElement(By.id("info")).getText()).contains("lock wait / hold", "swap attempts");
            new org.openqa.selenium.interactions.Actions(chrome).moveToElement(chrome.findElement(By.id("title"))).perform();
            // A few more done, for a screenshot that shows the job under way.
            wait.until(d -> d.findElements(By.cssSelector("#grid i.done")).size() >= 8);
            screenshot(chrome);

            // Signed out, a button is refused by the server, and the job goes on.
            press(chrome, wait, "pause");
            wait.until(d -> d.findElement(By.id("result")).isDisplayed()
                    && d.findElement(By.id("result")).getText().contains("sign in"));
            assertThat(count(db, "SELECT count(*) FROM pgrewrite.job_control")).isZero();
            chrome.executeScript("document.getElementById('result').textContent = ''");
            press(chrome, wait, "stop");
            wait.until(d -> d.findElement(By.id("result")).isDisplayed()
                    && d.findElement(By.id("result")).getText().contains("sign in"));
            assertThat(status(db, executionId)).isEqualTo("STARTED");
            HttpClient http = HttpClient.newHttpClient();
            // Outside the page: no CSRF token, refused with or without credentials.
            HttpResponse<String> anonymous = post(http, base + "/api/executions/" + executionId + "/stop", null);
            assertThat(anonymous.statusCode()).isEqualTo(403);
            HttpResponse<String> noToken = post(http, base + "/api/executions/" + executionId + "/stop", basic());
            assertThat(noToken.statusCode()).isEqualTo(403);
            assertThat(noToken.body()).contains("CSRF");
            assertThat(status(db, executionId)).isEqualTo("STARTED");
            // Prometheus and health stay open, as before the dashboard.
            assertThat(get(http, base + "/actuator/prometheus").statusCode()).isEqualTo(200);

            // Signed in.
            chrome.findElement(By.id("password")).sendKeys(PASSWORD);
            chrome.findElement(By.id("signin-button")).click();
            wait.until(d -> d.findElement(By.id("who")).getText().equals("signed in as operator"));

            pauseAndResume(chrome, wait, db, executionId);
            postponeAndAllowSwaps(chrome, wait, db, executionId);

            wait.until(ExpectedConditions.elementToBeClickable(By.cssSelector("#actions button[data-action=stop]")));
            press(chrome, wait, "stop");
            wait.until(d -> d.findElement(By.id("result")).getText().contains("Stop requested for execution " + executionId));
            assertThat(run.waitFor(180)).as(run.output()).isEqualTo(ExitCodes.STOPPED);
            assertThat(status(db, executionId)).isEqualTo("STOPPED");
        }
    }

    /** Pause: the database says paused and the page shows it; Resume: no longer. */
    void pauseAndResume(ChromeDriver chrome, WebDriverWait wait, TestDatabase.Database db, long executionId) throws Exception {
        assertThat(count(db, "SELECT count(*) FROM pgrewrite.job_control WHERE paused")).isZero();
        press(chrome, wait, "pause");
        wait.until(d -> d.findElement(By.id("result")).getText().contains("Execution " + executionId + " (nightly-compact@public.ev): paused"));
        assertThat(count(db, "SELECT count(*) FROM pgrewrite.job_control WHERE paused AND job_execution_id = " + executionId)).isEqualTo(1);
        wait.until(d -> d.findElement(By.id("status")).getText().equals("STARTED · paused"));
        assertThat(chrome.findElement(By.id("notes")).getText()).contains("Paused");
        assertThat(chrome.findElement(By.cssSelector("#actions button[data-action=pause]")).isEnabled()).isFalse();

        press(chrome, wait, "resume");
        wait.until(d -> d.findElement(By.id("result")).getText().contains("resumed"));
        assertThat(count(db, "SELECT count(*) FROM pgrewrite.job_control WHERE paused")).isZero();
        wait.until(d -> d.findElement(By.id("status")).getText().equals("STARTED"));
    }

    /** Postpone swaps: the database says so and the page shows it; Allow swaps: no longer. */
    void postponeAndAllowSwaps(ChromeDriver chrome, WebDriverWait wait, TestDatabase.Database db, long executionId) throws Exception {
        press(chrome, wait, "postpone-swap");
        wait.until(d -> d.findElement(By.id("result")).getText().contains("Execution " + executionId + " (nightly-compact@public.ev): swaps postponed"));
        assertThat(count(db, "SELECT count(*) FROM pgrewrite.job_control WHERE swap_postponed AND job_execution_id = " + executionId)).isEqualTo(1);
        wait.until(d -> d.findElement(By.id("notes")).getText().contains("Swaps postponed"));
        wait.until(d -> !d.findElement(By.cssSelector("#actions button[data-action='postpone-swap']")).isEnabled());

        press(chrome, wait, "allow-swap");
        wait.until(d -> d.findElement(By.id("result")).getText().contains("swaps allowed"));
        assertThat(count(db, "SELECT count(*) FROM pgrewrite.job_control WHERE swap_postponed")).isZero();
        wait.until(d -> !d.findElement(By.id("notes")).getText().contains("Swaps postponed"));
    }

    static void press(ChromeDriver chrome, WebDriverWait wait, String action) {
        WebElement b = chrome.findElement(By.cssSelector("#actions button[data-action='" + action + "']"));
        wait.until(ExpectedConditions.elementToBeClickable(b));
        b.click();
        wait.until(ExpectedConditions.alertIsPresent()).accept();
    }

    static String status(TestDatabase.Database db, long id) {
        try {
            return query(db, id);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static String query(TestDatabase.Database db, long id) throws Exception {
        try (Connection c = db.connect(); Statement st = c.createStatement();
                var rs = st.executeQuery("SELECT status FROM pgrewrite.batch_job_execution WHERE job_execution_id = " + id)) {
            rs.next();
            return rs.getString(1);
        }
    }

    static String basic() {
        return "Basic " + Base64.getEncoder().encodeToString(("operator:" + PASSWORD).getBytes(StandardCharsets.UTF_8));
    }

    static HttpResponse<String> post(HttpClient http, String url, String authorization) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).POST(HttpRequest.BodyPublishers.noBody())
                .header("X-Requested-With", "XMLHttpRequest");
        if (authorization != null) {
            b.header("Authorization", authorization);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<String> get(HttpClient http, String url) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private void screenshot(ChromeDriver chrome) throws Exception {
        Path shot = chrome.getScreenshotAs(OutputType.FILE).toPath();
        Path target = Path.of("target", "dashboard.png");
        Files.createDirectories(target.getParent());
        Files.copy(shot, target, StandardCopyOption.REPLACE_EXISTING);
        String keep = System.getProperty("dashboard.screenshot");
        if (keep != null && !keep.isBlank()) {
            Files.copy(shot, Path.of(keep), StandardCopyOption.REPLACE_EXISTING);
        }
    }

    static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** The browser, closed with the test. */
    static final class Browser implements AutoCloseable {
        final ChromeDriver driver;

        Browser(Path userDataDir) {
            this.driver = Chromium.start(userDataDir, 1280, 1000);
        }

        @Override
        public void close() {
            driver.quit();
        }
    }

    static <T> T eventually(Callable<T> c, java.util.function.Predicate<T> done, long seconds) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        T v = c.call();
        while (!done.test(v) && System.nanoTime() < end) {
            Thread.sleep(200);
            v = c.call();
        }
        return v;
    }

    static long count(TestDatabase.Database db, String sql) throws Exception {
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            return one(st, sql);
        }
    }
}
