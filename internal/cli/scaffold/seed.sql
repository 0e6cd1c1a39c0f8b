CREATE TABLE posts (
  id INTEGER PRIMARY KEY,
  slug TEXT NOT NULL UNIQUE,
  title TEXT NOT NULL,
  tag TEXT NOT NULL,
  body TEXT NOT NULL,
  published BOOLEAN NOT NULL DEFAULT 1,
  published_at TIMESTAMP NOT NULL
);
INSERT INTO posts (slug, title, tag, body, published, published_at) VALUES
('hello-world', 'Hello, world', 'news', 'This site is **baked**: every page is a plain file.', 1, '2026-01-05 09:00:00'),
('how-it-works', 'How it works', 'guides', '## Routes

Each route in `bake.toml` is a SQL query and a template.', 1, '2026-02-11 14:30:00'),
('drafts-stay-out', 'Drafts stay out', 'guides', 'Unpublished rows are not built.', 0, '2026-03-01 08:00:00'),
('café-au-lait', 'Café au lait', 'news', 'Non-ASCII slugs become UTF-8 file names.', 1, '2026-03-20 07:15:00');
