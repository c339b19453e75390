-- The operator's controls of a running execution of the rewrite job (pgrewrite pause / resume /
-- postpone-swap / allow-swap / set, or the dashboard), and the throttle's verdict. Every process that
-- works on the execution (the one that runs it, remote workers) reads this row about once a second, so
-- a control given on any host is obeyed on every host. No row: nothing was asked, not throttled.
CREATE TABLE job_control (
    job_execution_id   bigint           PRIMARY KEY,  -- the execution's id, as `pgrewrite status` shows it
    job_key            text             NOT NULL,
    paused             boolean          NOT NULL DEFAULT false,  -- copies stop at their next chunk boundary
    swap_postponed     boolean          NOT NULL DEFAULT false,  -- no swap starts
    settings           jsonb            NOT NULL DEFAULT '{}',   -- job keys changed while it runs, e.g. {"workers": "2"}
    updated_at         timestamptz      NOT NULL DEFAULT now(),
    updated_by         text,                                     -- who gave the last control (role@host)
    -- Written by the throttle sampler of the process running the execution; signal null: not throttled.
    throttle_signal    text,                                     -- the job key's name, e.g. replication-lag
    throttle_value     double precision,
    throttle_threshold double precision,
    throttle_unit      text,                                     -- s, bytes, bytes/min, sessions, or empty
    throttled_since    timestamptz,
    throttle_sampled_at timestamptz
);
CREATE INDEX job_control_job_key ON job_control (job_key);
