-- contact: `email` is missing and `score` holds text.
CREATE TABLE contact (id INTEGER PRIMARY KEY, name TEXT, score TEXT);
-- invoice: no integer id.
CREATE TABLE invoice (number TEXT PRIMARY KEY);
-- opportunity: no table at all.
