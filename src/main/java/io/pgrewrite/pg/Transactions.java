package io.pgrewrite.pg;

import org.springframework.transaction.TransactionDefinition;
import org.springframework.transaction.support.TransactionTemplate;

/** Transactions of their own: work that must commit (or roll back) whatever the caller is in. */
public final class Transactions {

    private Transactions() {
    }

    /** A template on the same transaction manager that always starts a new transaction. */
    public static TransactionTemplate requiresNew(TransactionTemplate any) {
        TransactionTemplate t = new TransactionTemplate(any.getTransactionManager());
        t.setPropagationBehavior(TransactionDefinition.PROPAGATION_REQUIRES_NEW);
        return t;
    }
}
