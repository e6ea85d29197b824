-- Invitations to a project for an address with no account yet: when someone registers with the
-- address, each unexpired invitation becomes a membership with its role.
CREATE TABLE project_invitations (
    project_id {uuid} NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    email      TEXT NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('viewer', 'editor')),
    invited_by {uuid} REFERENCES users (id) ON DELETE SET NULL,
    created_at {time} NOT NULL,
    expires_at {time} NOT NULL,
    PRIMARY KEY (project_id, email)
);
CREATE INDEX project_invitations_email_idx ON project_invitations (email);
