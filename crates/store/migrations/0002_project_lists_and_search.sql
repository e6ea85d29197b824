-- Figures for project lists, derived from the documents at every write so a list never parses
-- them, and the search index: every suffix of every word of the title and logline (see
@sqlite -- cinegen_domain::project::search). SQLite compares TEXT byte-wise (BINARY), so prefix ranges work as they are.
@postgres -- cinegen_domain::project::search). "C" collation makes prefix ranges byte-wise.

ALTER TABLE projects ADD COLUMN shot_count {bigint} NOT NULL DEFAULT 0;
ALTER TABLE projects ADD COLUMN keyframes_done {bigint} NOT NULL DEFAULT 0;
ALTER TABLE projects ADD COLUMN clips_done {bigint} NOT NULL DEFAULT 0;
ALTER TABLE projects ADD COLUMN thumbnail TEXT;
ALTER TABLE projects ADD COLUMN logline TEXT NOT NULL DEFAULT '';
CREATE INDEX projects_deleted_idx ON projects (deleted_at) WHERE status = 'deleted';

CREATE TABLE project_search_terms (
    project_id {uuid} NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    term       {bytewise_text} NOT NULL,
    PRIMARY KEY (project_id, term)
);
CREATE INDEX project_search_terms_term_idx ON project_search_terms (term, project_id);
