-- One row per goal and period in which the goal was completed: what makes `goal.completed` fire once.
CREATE TABLE goal_completions (
    goal_id       uuid NOT NULL REFERENCES goals ON DELETE CASCADE,
    period_start  date NOT NULL,
    completed_at  timestamptz NOT NULL,
    PRIMARY KEY (goal_id, period_start)
);
