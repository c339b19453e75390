package io.pgrewrite.pg;

import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.util.DriverDataSource;
import org.springframework.beans.factory.config.BeanPostProcessor;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Puts {@link Durability#guard} under the pool Spring Boot makes from {@code spring.datasource.*} (the only pool of
 * the Spring commands: pgrewrite's work, the JobRepository, Quartz, the remote channel): Hikari opens its server
 * connections through it, as it would through its own DriverDataSource.
 */
@Configuration(proxyBeanMethods = false)
class DurabilityConfiguration {

    @Bean
    static BeanPostProcessor pgrewriteDurableSessions() {
        return new BeanPostProcessor() {
            @Override
            public Object postProcessAfterInitialization(Object bean, String name) {
                if (bean instanceof HikariDataSource h && h.getDataSource() == null && h.getDataSourceClassName() == null
                        && h.getJdbcUrl() != null) {
                    h.setDataSource(Durability.guard(new DriverDataSource(h.getJdbcUrl(), h.getDriverClassName(),
                            h.getDataSourceProperties(), h.getUsername(), h.getPassword())));
                }
                return bean;
            }
        };
    }
}
