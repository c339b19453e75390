package io.pgrewrite.web;

import org.springframework.beans.factory.annotation.Value;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.security.core.userdetails.User;
import org.springframework.security.core.userdetails.UserDetailsService;
import org.springframework.security.crypto.factory.PasswordEncoderFactories;
import org.springframework.security.crypto.password.PasswordEncoder;
import org.springframework.security.provisioning.InMemoryUserDetailsManager;

/**
 * The one operator the dashboard's actions accept, from configuration: {@code pgrewrite.http.username} (default
 * {@code operator}) and {@code pgrewrite.http.password} (PGREWRITE_HTTP_PASSWORD; plain, or encoded as
 * {@code {bcrypt}…}). There is no default password: without one, nobody can act and the page says so. Defined in
 * every context, also without HTTP, so that Spring Boot never makes up a user with a generated password.
 */
@Configuration(proxyBeanMethods = false)
public class OperatorCredentials {

    public static final String ROLE = "OPERATOR";

    @Bean
    PasswordEncoder passwordEncoder() {
        return PasswordEncoderFactories.createDelegatingPasswordEncoder();
    }

    @Bean
    UserDetailsService operators(@Value("${pgrewrite.http.username:operator}") String username,
            @Value("${pgrewrite.http.password:}") String password, PasswordEncoder encoder) {
        InMemoryUserDetailsManager users = new InMemoryUserDetailsManager();
        if (!password.isBlank()) {
            String encoded = password.startsWith("{") ? password : encoder.encode(password);
            users.createUser(User.withUsername(username).password(encoded).roles(ROLE).build());
        }
        return users;
    }

    static boolean configured(String password) {
        return password != null && !password.isBlank();
    }
}
