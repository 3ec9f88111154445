-- Reminders the scheduler sent, one per goal and deadline: what makes `goal.deadline_near` fire once
-- (a moved deadline gets its own reminder).
CREATE TABLE goal_reminders (
    goal_id   uuid NOT NULL REFERENCES goals ON DELETE CASCADE,
    deadline  date NOT NULL,
    sent_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (goal_id, deadline)
);
CREATE INDEX goals_deadline ON goals (deadline) WHERE deadline IS NOT NULL;

-- Bumped with every change to a user's goals, so the goals worker can keep goals in memory and reload
-- only the users whose goals changed.
ALTER TABLE users ADD COLUMN goals_revision bigint NOT NULL DEFAULT 0;
