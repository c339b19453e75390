package io.pgrewrite.web;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * Debian's headless Chromium driven through its chromedriver (packages {@code chromium} and {@code chromium-driver};
 * .ci/run installs them). Both binaries come from the system, never downloaded: the tests that need them are
 * skipped, saying so, where either is missing.
 */
final class Chromium {

    private Chromium() {
    }

    static Optional<Path> browser() {
        return find(System.getenv("CHROME_BIN"), "chromium", "chromium-browser", "google-chrome");
    }

    static Optional<Path> driver() {
        return find(System.getenv("CHROMEDRIVER"), "chromedriver");
    }

    /** Skips the calling test, with the reason, unless both binaries are on this machine. */
    static void assumeInstalled() {
        assumeTrue(browser().isPresent() && driver().isPresent(), "Skipped: needs Debian's chromium and chromium-driver"
                + " (apt-get install chromium chromium-driver; .ci/run installs them). Found browser: "
                + browser().map(Path::toString).orElse("none") + ", chromedriver: " + driver().map(Path::toString).orElse("none"));
    }

    static ChromeDriver start(Path userDataDir, int width, int height) {
        ChromeOptions options = new ChromeOptions();
        options.setBinary(browser().orElseThrow().toFile());
        options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--user-data-dir=" + userDataDir, "--window-size=" + width + "," + height);
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(driver().orElseThrow().toFile())
                .usingAnyFreePort().withTimeout(Duration.ofSeconds(60)).build();
        ChromeDriver driver = new ChromeDriver(service, options);
        driver.manage().timeouts().scriptTimeout(Duration.ofSeconds(30));
        return driver;
    }

    private static Optional<Path> find(String explicit, String... names) {
        if (explicit != null && !explicit.isBlank() && Files.isExecutable(Path.of(explicit))) {
            return Optional.of(Path.of(explicit));
        }
        for (String dir : List.of(System.getenv().getOrDefault("PATH", "/usr/bin").split(File.pathSeparator))) {
            for (String n : names) {
                Path p = Path.of(dir, n);
                if (Files.isExecutable(p)) {
                    return Optional.of(p);
                }
            }
        }
        return Optional.empty();
    }
}
