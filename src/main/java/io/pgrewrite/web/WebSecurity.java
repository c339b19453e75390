package io.pgrewrite.web;

import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Map;
import java.util.function.Supplier;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.HttpMethod;
import org.springframework.security.authentication.AnonymousAuthenticationToken;
import org.springframework.security.authorization.AuthorizationDecision;
import org.springframework.security.authorization.AuthorizationManager;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.config.http.SessionCreationPolicy;
import org.springframework.security.core.Authentication;
import org.springframework.security.core.AuthenticationException;
import org.springframework.security.web.AuthenticationEntryPoint;
import org.springframework.security.web.SecurityFilterChain;
import org.springframework.security.web.access.intercept.RequestAuthorizationContext;
import org.springframework.security.web.authentication.www.BasicAuthenticationEntryPoint;
import org.springframework.security.web.authentication.session.NullAuthenticatedSessionStrategy;
import tools.jackson.databind.json.JsonMapper;

/**
 * Who may do what over HTTP:
 * <ul>
 * <li>{@code /actuator/health} and {@code /actuator/prometheus}: anyone, as before the dashboard (Prometheus scrapes them);
 * <li>the page and its JSON (GET): anyone on this host (a loopback address, asking for a loopback name: see
 *     {@link #local}), everyone else with the operator's credentials; {@code pgrewrite.http.local-read=false} asks
 *     credentials of local requests too (behind a reverse proxy on the same host every request looks local);
 * <li>every action (POST): the operator's credentials (HTTP basic) and the CSRF token of the page (a cookie the
 *     page's script echoes in a header, so another site cannot make a browser that holds the credentials act);
 *     no credentials configured: no action, and the answer says how to configure them.
 * </ul>
 * No session: every request carries its credentials, so nothing can be taken over from a cookie.
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
public class WebSecurity {

    static final String NO_CREDENTIALS = "Actions are disabled: no operator credentials are configured. Start pgrewrite"
            + " with PGREWRITE_HTTP_PASSWORD (and optionally PGREWRITE_HTTP_USERNAME, default operator) to enable them.";
    static final String SIGN_IN = "This needs the operator's credentials: sign in (HTTP basic).";

    @Bean
    SecurityFilterChain dashboard(HttpSecurity http, @Value("${pgrewrite.http.password:}") String password,
            @Value("${pgrewrite.http.local-read:true}") boolean localRead) throws Exception {
        boolean credentials = OperatorCredentials.configured(password);
        AuthorizationManager<RequestAuthorizationContext> read = (auth, ctx) -> new AuthorizationDecision(
                localRead && local(ctx.getRequest()) || signedIn(auth));
        AuthenticationEntryPoint entryPoint = entryPoint(credentials);
        http.authorizeHttpRequests(a -> a
                        .requestMatchers(HttpMethod.GET, "/actuator/health", "/actuator/health/**", "/actuator/prometheus").permitAll()
                        .requestMatchers("/error").permitAll()
                        .requestMatchers(HttpMethod.GET, "/", "/index.html", "/dashboard.js", "/dashboard.css", "/favicon.ico",
                                "/api/**").access(read)
                        .requestMatchers(HttpMethod.POST, "/api/executions/*/*").access(credentials
                                ? (auth, ctx) -> new AuthorizationDecision(signedIn(auth) && auth.get().getAuthorities().stream()
                                        .anyMatch(g -> g.getAuthority().equals("ROLE_" + OperatorCredentials.ROLE)))
                                : (auth, ctx) -> new AuthorizationDecision(false))
                        .anyRequest().denyAll())
                .httpBasic(b -> b.realmName("pgrewrite").authenticationEntryPoint(entryPoint))
                .exceptionHandling(e -> e.authenticationEntryPoint(entryPoint).accessDeniedHandler((req, res, ex) ->
                        json(res, HttpServletResponse.SC_FORBIDDEN, req.getRequestURI().startsWith("/api/") && ex.getClass()
                                .getSimpleName().contains("Csrf") ? "Refused: the request carries no valid CSRF token. Reload the page."
                                : credentials ? "Refused: " + ex.getMessage() : NO_CREDENTIALS)))
                .sessionManagement(s -> s.sessionCreationPolicy(SessionCreationPolicy.STATELESS))
                .csrf(c -> c.spa() // the token in cookie XSRF-TOKEN, echoed by the page's script in header X-XSRF-TOKEN
                        // Every request signs in anew (HTTP basic, no session): keep the token, or the page's copy goes stale.
                        .sessionAuthenticationStrategy(new NullAuthenticatedSessionStrategy()))
                .formLogin(f -> f.disable())
                .logout(l -> l.disable());
        return http.build();
    }

    /** The page's script (X-Requested-With) gets a JSON answer it can show; a browser gets the basic challenge. */
    private static AuthenticationEntryPoint entryPoint(boolean credentials) {
        BasicAuthenticationEntryPoint basic = new BasicAuthenticationEntryPoint();
        basic.setRealmName("pgrewrite");
        basic.afterPropertiesSet();
        return (HttpServletRequest req, HttpServletResponse res, AuthenticationException ex) -> {
            boolean script = "XMLHttpRequest".equals(req.getHeader("X-Requested-With"));
            if (!credentials) {
                json(res, HttpServletResponse.SC_FORBIDDEN, "POST".equals(req.getMethod()) ? NO_CREDENTIALS
                        : "The dashboard answers without credentials only on this host, at http://localhost:PORT/ or"
                                + " 127.0.0.1, and no operator credentials are configured (PGREWRITE_HTTP_PASSWORD).");
            } else if (script) {
                json(res, HttpServletResponse.SC_UNAUTHORIZED, req.getHeader("Authorization") != null
                        ? "Wrong user name or password." : SIGN_IN);
            } else {
                basic.commence(req, res, ex);
            }
        };
    }

    private static boolean signedIn(Supplier<? extends Authentication> auth) {
        Authentication a = auth.get();
        return a != null && a.isAuthenticated() && !(a instanceof AnonymousAuthenticationToken);
    }

    /**
     * A request that may read without credentials: it comes from this host and names this host. The address alone
     * is not enough: a page of another site that the operator's browser opens can make its own name resolve to
     * 127.0.0.1 (DNS rebinding) and then read the dashboard as a page of its own origin, with its own name in the
     * Host header. So the Host header must be a loopback name too: {@code localhost} or a loopback address literal
     * ({@code 127.0.0.1}, {@code [::1]}). Its port is not compared: {@code ssh -L 9000:localhost:8080} makes the
     * browser send port 9000 to a server on 8080, and a rebinding page cannot name {@code localhost} whatever the port.
     */
    static boolean local(HttpServletRequest request) {
        return loopbackAddress(request.getRemoteAddr()) && loopbackName(request.getHeader("Host"));
    }

    static boolean loopbackAddress(String address) {
        try {
            return address != null && InetAddress.getByName(address).isLoopbackAddress(); // an address literal: no lookup
        } catch (UnknownHostException e) {
            return false;
        }
    }

    /** Whether a Host header ({@code name[:port]}, {@code [v6]:port}) names this host without asking DNS. */
    static boolean loopbackName(String host) {
        if (host == null || host.isBlank()) {
            return false; // HTTP/1.1 requires it; an HTTP/1.0 client that omits it gets no free read
        }
        String h = host.strip().toLowerCase(java.util.Locale.ROOT);
        if (h.startsWith("[")) {
            int end = h.indexOf(']');
            return end > 0 && h.substring(1, end).matches("[0-9a-f:.]+") && loopbackAddress(h.substring(1, end));
        }
        int colon = h.lastIndexOf(':');
        String name = colon < 0 ? h : h.substring(0, colon);
        if (name.endsWith(".")) {
            name = name.substring(0, name.length() - 1);
        }
        if (name.equals("localhost")) {
            return true;
        }
        // Only an IPv4 literal, never a name: InetAddress would look a name up, and that is what a rebinding controls.
        return name.matches("[0-9]{1,3}(\\.[0-9]{1,3}){3}") && loopbackAddress(name);
    }

    private static void json(HttpServletResponse res, int status, String message) throws IOException {
        res.setStatus(status);
        res.setContentType("application/json");
        res.setCharacterEncoding("UTF-8");
        res.getWriter().write(JsonMapper.builder().build().writeValueAsString(Map.of("error", message)));
    }
}
