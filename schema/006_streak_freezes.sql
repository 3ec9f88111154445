-- Local days a user protected from breaking their streak (a limited allowance per calendar month).
CREATE TABLE streak_freezes (
    user_id     uuid NOT NULL REFERENCES users ON DELETE CASCADE,
    day         date NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, day)
);
