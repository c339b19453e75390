package io.pgrewrite.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Docker is not available where pgrewrite is developed, so Grafana cannot be started here. This checks what can be
 * checked without it: `docker compose --profile monitoring up` would find valid YAML and JSON where Grafana looks,
 * the provisioned datasource is the one every panel uses, and the dashboard asks only for meters pgrewrite
 * serves (the Prometheus names MetricNamesTest sees in a real scrape) and shows every one of them.
 */
class GrafanaDashboardTest {

    /** The Prometheus names of JobMeters, as MetricNamesTest finds them in a scrape. */
    static final Set<String> SERVED = Set.of("pgrewrite_rows_copied_total", "pgrewrite_bytes_copied_bytes_total",
            "pgrewrite_copy_rate_rows_per_second", "pgrewrite_copy_eta_seconds", "pgrewrite_swap_lock_wait_seconds_count",
            "pgrewrite_swap_lock_wait_seconds_sum", "pgrewrite_swap_lock_hold_seconds_count", "pgrewrite_swap_lock_hold_seconds_sum",
            "pgrewrite_swap_lock_retries_total", "pgrewrite_disk_extra_inflight_bytes", "pgrewrite_disk_extra_peak_bytes",
            "pgrewrite_throttled", "pgrewrite_paused");

    @Test
    void composeProvisionsPrometheusAndTheDashboard() throws Exception {
        Map<String, Object> compose = yaml("docker-compose.yml");
        Map<String, Object> services = map(compose.get("services"));
        Map<String, Object> grafana = map(services.get("grafana"));
        assertThat(grafana.get("profiles")).isEqualTo(List.of("monitoring"));
        assertThat(map(services.get("prometheus")).get("profiles")).isEqualTo(List.of("monitoring"));
        String provisioning = null;
        String dashboards = null;
        for (Object v : (List<?>) grafana.get("volumes")) {
            String[] parts = v.toString().split(":");
            assertThat(Path.of(parts[0])).as("host side of " + v).exists();
            if (parts[1].equals("/etc/grafana/provisioning")) {
                provisioning = parts[0];
            } else {
                dashboards = parts[1];
            }
        }
        assertThat(provisioning).isNotNull();
        Map<String, Object> datasources = yaml(Path.of(provisioning, "datasources", "prometheus.yml").toString());
        Map<String, Object> ds = map(((List<?>) datasources.get("datasources")).get(0));
        assertThat(ds.get("type")).isEqualTo("prometheus");
        assertThat(ds.get("url").toString()).startsWith("http://prometheus:9090"); // the compose service
        Map<String, Object> providers = yaml(Path.of(provisioning, "dashboards", "pgrewrite.yml").toString());
        Map<String, Object> provider = map(((List<?>) providers.get("providers")).get(0));
        assertThat(map(provider.get("options")).get("path")).isEqualTo(dashboards);

        Map<String, Object> prometheus = yaml("prometheus.yml");
        Map<String, Object> scrape = map(((List<?>) prometheus.get("scrape_configs")).get(0));
        assertThat(scrape.get("metrics_path")).isEqualTo("/actuator/prometheus");
        assertThat(scrape.get("honor_labels")).as("the meters' own `job` tag survives the scrape").isEqualTo(true);

        JsonNode dashboard = JsonMapper.builder().build().readTree(Files.readString(Path.of("monitoring/grafana/dashboards/pgrewrite.json")));
        assertThat(dashboard.get("uid").asString()).isEqualTo("pgrewrite");
        Set<String> used = new TreeSet<>();
        List<String> titles = new ArrayList<>();
        Pattern metric = Pattern.compile("pgrewrite_[a-z_]+");
        for (JsonNode panel : dashboard.get("panels")) {
            titles.add(panel.get("title").asString());
            assertThat(panel.get("datasource").get("uid").asString()).isEqualTo(ds.get("uid"));
            for (JsonNode target : panel.get("targets")) {
                assertThat(target.get("datasource").get("uid").asString()).isEqualTo(ds.get("uid"));
                Matcher m = metric.matcher(target.get("expr").asString());
                while (m.find()) {
                    used.add(m.group());
                }
            }
        }
        Set<String> served = new TreeSet<>(SERVED);
        JobProgress.STATES.forEach(s -> served.add("pgrewrite_partitions_" + s));
        assertThat(served).as("every meter pgrewrite serves is on the dashboard").isSubsetOf(used);
        assertThat(used).as("the dashboard asks only for meters pgrewrite serves").isSubsetOf(served);
        assertThat(JobMeters.names()).hasSize(11); // a new meter: add it to SERVED and to a panel
        assertThat(titles).doesNotHaveDuplicates();
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> yaml(String file) throws Exception {
        return (Map<String, Object>) new Yaml().load(Files.readString(Path.of(file)));
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object o) {
        return (Map<String, Object>) o;
    }
}
