package sqlscan

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTables(t *testing.T) {
	tests := []struct {
		query string
		want  []string
	}{
		{"SELECT * FROM items WHERE published", []string{"items"}},
		{"SELECT i.*, c.name FROM items i JOIN categories c ON c.id = i.category_id", []string{"items", "categories"}},
		{`SELECT * FROM "my items"`, []string{"my items"}},
		{"WITH ranked AS (SELECT * FROM results) SELECT * FROM ranked JOIN races ON true", []string{"results", "races"}},
		{"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT * FROM n JOIN items ON items.id = n.i", []string{"items"}},
		{"with totals as materialized (select * from results), Ranked AS(select * from totals) select * from ranked, candidates", []string{"results", "candidates"}},
		{"SELECT * FROM items i, categories AS c, \"odd, name\" o WHERE i.c = c.id ORDER BY a, b", []string{"items", "categories", "odd, name"}},
		{"SELECT * FROM items GROUP BY a, b", []string{"items"}},
		{"SELECT * FROM items i, json_each(i.tags) j", []string{"items", "json_each"}},
		// A CTE named like the table it reads is that table.
		{"WITH posts AS (SELECT * FROM posts WHERE published) SELECT * FROM posts", []string{"posts"}},
		{"SELECT * FROM json_each(:t) j, items", []string{"json_each", "items"}},
		{"SELECT * FROM (SELECT * FROM a) s, categories", []string{"a", "categories"}},
		{"SELECT * FROM a JOIN b ON a.x = b.y, c", []string{"a", "b", "c"}},
		{`SELECT * FROM items "i", categories`, []string{"items", "categories"}},
		{"SELECT * FROM items -- FROM comments\nWHERE title = 'FROM strings' /* JOIN x */", []string{"items"}},
		{"SELECT * FROM a LEFT OUTER JOIN b USING (id) NATURAL JOIN [c d] WHERE x IN (SELECT id FROM e)", []string{"a", "b", "c d", "e"}},
		{"SELECT * FROM items ORDER BY a, b LIMIT 10, 20", []string{"items"}},
		{"SELECT * FROM a, LATERAL (SELECT * FROM b) l", []string{"a", "b"}},
		{"SELECT * FROM s.items", []string{"s.items", "items"}},
		{`SELECT * FROM ""`, nil},
		// Strings and comments of PostgreSQL.
		{`SELECT * FROM posts WHERE title <> E'it\'s' AND id IN (SELECT post_id FROM tags)`, []string{"posts", "tags"}},
		{"SELECT $$it's$$ AS x, p.* FROM posts p JOIN tags t ON t.id = p.tag_id", []string{"posts", "tags"}},
		{"SELECT $$--$$ AS sep, * FROM posts", []string{"posts"}},
		// (Read as SQLite, where $fn$ is no string, it also names x: an extra
		// dep costs a re-render at most, a missing one a stale page.)
		{"SELECT $fn$ FROM x $fn$ AS body, $1::int FROM posts", []string{"x", "posts"}},
		{"SELECT ARRAY['a]'] AS a FROM posts, tags", []string{"posts", "tags"}},
		{"SELECT x[1] FROM posts /* /* nested */ it's */ JOIN tags ON true", []string{"posts", "tags"}},
		// A CTE's name means it only within its scope.
		{"SELECT count(*) FROM posts WHERE id IN (WITH posts AS (SELECT 1 AS id) SELECT id FROM posts)", []string{"posts"}},
		{"WITH base AS (SELECT * FROM posts WHERE published), posts AS (SELECT * FROM base) SELECT * FROM posts", []string{"posts"}},
		// Parenthesised joins.
		{"SELECT * FROM a LEFT JOIN (b JOIN c ON b.id = c.id) ON a.id = b.id", []string{"a", "b", "c"}},
		{"SELECT * FROM (posts JOIN authors ON posts.author = authors.id)", []string{"posts", "authors"}},
		// A quoted "(" is no parenthesis.
		{`SELECT * FROM (SELECT replace(title, "(", "") AS t FROM posts) p, tags`, []string{"posts", "tags"}},
		{`SELECT * FROM "a""b"`, []string{`a"b`}},
		// SQLite's comments do not nest, PostgreSQL's do: both readings count.
		{"SELECT * FROM posts /* see /blog/* pages */ JOIN tags ON true", []string{"posts", "tags"}},
		{"SELECT [Author's Name] FROM posts JOIN tags ON true", []string{"posts", "tags"}},
		{"SELECT p.[Author's Name] FROM posts p JOIN tags ON true", []string{"posts", "tags"}},
		// Qualified names, quoted or not.
		{`SELECT * FROM "public"."posts"`, []string{"public.posts", "posts"}},
		{`SELECT * FROM main."posts", [main].[tags]`, []string{"main.posts", "posts", "main.tags", "tags"}},
		// A quoted CTE name is not the unquoted table of another case.
		{`WITH "Posts" AS (SELECT 1) SELECT * FROM posts`, []string{"posts"}},
		{`WITH p AS (SELECT 1) SELECT * FROM P`, nil},
		{"WITH t AS NOT MATERIALIZED (SELECT * FROM votes) SELECT * FROM t JOIN counties ON true", []string{"votes", "counties"}},
		{"SELECT a, (SELECT COUNT(*) FROM b) AS n FROM c", []string{"b", "c"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, Tables(tt.query)); diff != "" {
			t.Errorf("Tables(%q) (-want +got):\n%s", tt.query, diff)
		}
	}
}

func FuzzTables(f *testing.F) {
	for _, q := range []string{"SELECT * FROM a, b JOIN c ON x", "WITH t AS (SELECT * FROM t) SELECT 1 FROM t", `FROM "x`, "FROM [y", "((", "))", "/* ", "'"} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, q string) {
		for _, name := range Tables(q) {
			if name == "" {
				t.Fatalf("Tables(%q) has an empty name", q)
			}
		}
	})
}
