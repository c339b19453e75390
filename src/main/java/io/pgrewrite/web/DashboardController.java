package io.pgrewrite.web;

import java.security.Principal;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import javax.sql.DataSource;

import jakarta.annotation.PreDestroy;
import jakarta.servlet.http.HttpServletRequest;
import org.springframework.batch.core.repository.JobRepository;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.security.web.csrf.CsrfToken;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/**
 * The dashboard's JSON: the executions, one execution as its page shows it (polled every few seconds), who is
 * signed in, and the actions. The page itself is {@code static/index.html} with {@code dashboard.js}.
 */
@RestController
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
public class DashboardController {

    static final Set<String> ACTIONS = Set.of("stop", "pause", "resume", "postpone-swap", "allow-swap", "restart", "abandon");

    private final DashboardData data;
    private final Actions actions;
    private final boolean credentials;

    public DashboardController(DataSource dataSource, JobRepository repository, ConfigurableApplicationContext ctx,
            @Value("${pgrewrite.http.password:}") String password) {
        this.data = new DashboardData(dataSource, repository);
        this.actions = new Actions(ctx);
        this.credentials = OperatorCredentials.configured(password);
    }

    @GetMapping("/api/session")
    Map<String, Object> session(Principal user, CsrfToken csrf, HttpServletRequest request) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("user", user == null ? null : user.getName());
        m.put("actionsEnabled", credentials);
        m.put("message", credentials ? user == null ? "Sign in to act on a job." : null : WebSecurity.NO_CREDENTIALS);
        m.put("local", WebSecurity.local(request));
        m.put("actions", Controls.supported());
        m.put("cleanup", Controls.cleanup());
        // The token itself is in cookie XSRF-TOKEN (set by reading it here); a POST echoes it in this header.
        csrf.getToken();
        m.put("csrfHeader", csrf.getHeaderName());
        m.put("csrfCookie", "XSRF-TOKEN");
        return m;
    }

    @GetMapping("/api/executions")
    List<Map<String, Object>> executions(@RequestParam(defaultValue = "50") int limit) {
        return data.executions(Math.min(Math.max(limit, 1), 500));
    }

    @GetMapping("/api/executions/{id}")
    ResponseEntity<Map<String, Object>> execution(@PathVariable long id) throws Exception {
        long t0 = System.nanoTime();
        java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
        long cpu0 = threads.getCurrentThreadCpuTime();
        Map<String, Object> e = data.execution(id);
        if (e == null) {
            return ResponseEntity.status(HttpStatus.NOT_FOUND).body(Map.of("error", "No pgrewrite execution " + id + "."));
        }
        double ms = (System.nanoTime() - t0) / 1e6;
        e.put("serverMs", Math.round(ms * 10) / 10.0);
        // This thread's CPU time too (not the database's): on a loaded machine the wall time is mostly waiting for a core.
        double cpu = cpu0 < 0 ? -1 : (threads.getCurrentThreadCpuTime() - cpu0) / 1e6;
        StringBuilder timing = new StringBuilder(String.format(java.util.Locale.ROOT, "total;dur=%.1f, cpu;dur=%.1f", ms, cpu));
        ((Map<?, ?>) e.get("timings")).forEach((k, v) -> timing.append(", ").append(k).append(";dur=").append(v));
        return ResponseEntity.ok().header("Server-Timing", timing.toString()).body(e);
    }

    @PostMapping("/api/executions/{id}/{action}")
    ResponseEntity<Map<String, Object>> act(@PathVariable long id, @PathVariable String action, Principal user,
            @RequestParam Map<String, String> params) {
        if (!ACTIONS.contains(action)) {
            return ResponseEntity.badRequest().body(Map.of("error", "Unknown action " + action + "; one of " + ACTIONS + "."));
        }
        return ResponseEntity.ok(actions.run(action, id, user.getName(), params));
    }

    @PreDestroy
    void close() {
        actions.close();
    }
}
