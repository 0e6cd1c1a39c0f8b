package cli

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/bakehq/bake/sqlsite"
	"github.com/jackc/pgx/v5/pgconn"
)

// A database URL takes one of three forms:
//
//   - a URL: postgres://user:secret@host/db?sslmode=require (or
//     postgresql://), or sqlite:PATH, file:PATH;
//   - a libpq keyword/value string, as psql and pgx take it:
//     host=db.internal dbname=news user=bake password='s3 cret';
//   - the path of an SQLite file, relative to the site folder.
//
// databaseKind tells them apart, and redact hides every secret in any of
// them before it is printed.

// databaseKind returns the dialect of the database u names:
// [sqlsite.Postgres] for a postgres:// URL or a keyword/value string,
// [sqlsite.SQLite] for a file. A string that looks like a keyword/value
// string but cannot be one, or a URL of another scheme, is an error: it is
// never taken for the name of an SQLite file to create.
func databaseKind(u string) (string, error) {
	if scheme, ok := urlScheme(u); ok {
		switch strings.ToLower(scheme) {
		case "postgres", "postgresql":
			return sqlsite.Postgres, nil
		case "sqlite", "file":
			return sqlsite.SQLite, nil
		}
		return "", fmt.Errorf("database url %s: bake reads SQLite (a file name, or file:NAME) and PostgreSQL (postgres://… or host=… dbname=…), not %s", redact(u), scheme)
	}
	if hasPrefixFold(u, "sqlite:") || hasPrefixFold(u, "file:") {
		return sqlsite.SQLite, nil
	}
	if !looksLikeKeywords(u) {
		return sqlsite.SQLite, nil
	}
	pairs, _, err := parseKeywords(u)
	if err != nil {
		return "", fmt.Errorf("database url %s: a PostgreSQL keyword/value string (host=… dbname=…) that cannot be read: %w", redact(u), err)
	}
	for _, p := range pairs {
		if isLibpqKeyword(p.key) {
			return sqlsite.Postgres, nil
		}
	}
	return "", fmt.Errorf("database url %s: read as a PostgreSQL keyword/value string, it names no connection keyword (host, dbname, user, …); for an SQLite file whose name has \"=\", write ./NAME or file:NAME", redact(u))
}

// redact returns u with every secret in it replaced by xxxxx: the password
// of a URL's userinfo, the values of query parameters that hold secrets
// (password, sslpassword, sslkey, and any key naming a password, secret,
// token or key), and the same values in a keyword/value string, quoted or
// not. A malformed string is redacted beyond the secret rather than short
// of it.
func redact(u string) string {
	spans := secretSpans(u)
	if len(spans) == 0 {
		return u
	}
	var b strings.Builder
	at := 0
	for _, s := range spans {
		b.WriteString(u[at:s.start])
		b.WriteString("xxxxx")
		at = s.end
	}
	b.WriteString(u[at:])
	return b.String()
}

// hideSecrets returns err without the secrets of the database URL u. pgx
// quotes a connection string it cannot parse, hiding its passwords on a
// best-effort basis (password='it\'s' shows s'): only what it says is wrong
// is kept. Any other message that holds a secret is replaced as a whole.
func hideSecrets(err error, u string) error {
	var pce *pgconn.ParseConfigError
	if errors.As(err, &pce) {
		msg := pce.Error()
		if i := strings.LastIndex(msg, "`: "); i >= 0 {
			msg = msg[i+len("`: "):]
		}
		err = errors.New("cannot parse the connection string: " + msg)
	}
	msg := err.Error()
	for _, s := range secretSpans(u) {
		raw := u[s.start:s.end]
		for _, v := range []string{raw, strings.Trim(raw, "'"), unescapeKeywordValue(strings.Trim(raw, "'")), percentDecoded(raw)} {
			if v != "" && strings.Contains(msg, v) {
				return errors.New("cannot use the connection string (the driver's message is not shown: it quoted the password); check its syntax: in a URL, percent-encode @ : / ? # % in the password; in a keyword/value string, quote a value with spaces: password='…'")
			}
		}
	}
	return err
}

// span is a byte range [start, end) of a string.
type span struct{ start, end int }

// secretSpans returns the byte ranges of u's secrets, in order, not
// overlapping.
func secretSpans(u string) []span {
	if _, ok := urlScheme(u); ok {
		return urlSecrets(u)
	}
	if looksLikeKeywords(u) {
		return keywordSecrets(u)
	}
	// An SQLite file name, perhaps with a ?query (file:site.db?mode=ro).
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return querySecrets(u, i+1, len(u))
	}
	return nil
}

// urlSecrets returns the secrets of a URL: its userinfo password and the
// values of secret query parameters. A URL that does not parse (a password
// with an unencoded / ? or #) has everything from the userinfo's first ":"
// to the last "@" hidden.
func urlSecrets(u string) []span {
	start := strings.Index(u, "://") + len("://")
	var spans []span
	if _, err := url.Parse(u); err == nil {
		// The authority ends at the first / ? or #, the userinfo at its
		// last @, as url.Parse reads them.
		end := len(u)
		if i := strings.IndexAny(u[start:], "/?#"); i >= 0 {
			end = start + i
		}
		if at := strings.LastIndexByte(u[start:end], '@'); at >= 0 {
			if c := strings.IndexByte(u[start:start+at], ':'); c >= 0 {
				spans = append(spans, span{start + c + 1, start + at})
			}
		}
		q := strings.IndexByte(u[end:], '?')
		if q < 0 {
			return spans
		}
		qend := len(u)
		if h := strings.IndexByte(u[end+q:], '#'); h >= 0 {
			qend = end + q + h
		}
		return append(spans, querySecrets(u, end+q+1, qend)...)
	}
	rest := start
	if at := strings.LastIndexByte(u[start:], '@'); at >= 0 {
		if c := strings.IndexByte(u[start:start+at], ':'); c >= 0 {
			spans = append(spans, span{start + c + 1, start + at})
		}
		rest = start + at + 1
	}
	if q := strings.IndexByte(u[rest:], '?'); q >= 0 {
		spans = append(spans, querySecrets(u, rest+q+1, len(u))...)
	}
	return spans
}

// querySecrets returns the values of the secret parameters in the query
// u[start:end] (name=value pairs joined by &).
func querySecrets(u string, start, end int) []span {
	var spans []span
	for i := start; i <= end; {
		j := strings.IndexByte(u[i:end], '&')
		if j < 0 {
			j = end - i
		}
		pair := u[i : i+j]
		if k, _, ok := strings.Cut(pair, "="); ok && isSecretKey(percentDecoded(k)) {
			spans = append(spans, span{i + len(k) + 1, i + j})
		}
		i += j + 1
	}
	return spans
}

// keywordSecrets returns the values of the secret keys of a keyword/value
// string. When the string cannot be read to its end, everything from the
// first secret value (or from where reading failed) is hidden.
func keywordSecrets(u string) []span {
	pairs, failed, err := parseKeywords(u)
	var spans []span
	for _, p := range pairs {
		if isSecretKey(p.key) {
			if err != nil {
				return []span{{p.start, len(u)}}
			}
			spans = append(spans, span{p.start, p.end})
		}
	}
	if err != nil && failed < len(u) {
		spans = append(spans, span{failed, len(u)})
	}
	return spans
}

// isSecretKey reports whether the parameter key holds a secret: password,
// sslpassword, sslkey (pgx may take the key itself), and any key naming a
// password, secret, token or key.
func isSecretKey(key string) bool {
	k := strings.ToLower(key)
	for _, s := range []string{"pass", "pwd", "secret", "token"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return strings.HasSuffix(k, "key")
}

// urlScheme returns the scheme of u when u starts with "scheme://".
func urlScheme(u string) (string, bool) {
	i := strings.Index(u, "://")
	if i <= 0 {
		return "", false
	}
	for j, c := range []byte(u[:i]) {
		letter := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if !letter && (j == 0 || !('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return "", false
		}
	}
	return u[:i], true
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// looksLikeKeywords reports whether s starts as a keyword/value string
// does: a keyword (letters, digits, _), then "=".
func looksLikeKeywords(s string) bool {
	s = strings.TrimLeft(s, spaces)
	n := 0
	for n < len(s) && (s[n] == '_' || 'a' <= s[n] && s[n] <= 'z' || 'A' <= s[n] && s[n] <= 'Z' || n > 0 && '0' <= s[n] && s[n] <= '9') {
		n++
	}
	return n > 0 && strings.HasPrefix(strings.TrimLeft(s[n:], spaces), "=")
}

// spaces are the characters libpq skips between keyword/value pairs.
const spaces = " \t\n\r\v\f"

// keywordPair is one key=value of a keyword/value string.
type keywordPair struct {
	key, value string
	start, end int // the value as written, quotes included
}

// parseKeywords reads a keyword/value string as libpq and pgx do: pairs
// key=value apart by spaces, a value either quoted in '…' or ending at the
// next space, \ escaping the next character in both. On an error it returns
// the pairs read so far and the offset where reading failed.
func parseKeywords(s string) ([]keywordPair, int, error) {
	var pairs []keywordPair
	i := skipSpaces(s, 0)
	for i < len(s) {
		eq := strings.IndexByte(s[i:], '=')
		if eq < 0 {
			return pairs, i, fmt.Errorf("missing \"=\" after keyword %d", len(pairs)+1)
		}
		key := strings.Trim(s[i:i+eq], spaces)
		if key == "" {
			return pairs, i, fmt.Errorf("empty keyword %d", len(pairs)+1)
		}
		if strings.ContainsAny(key, spaces) {
			return pairs, i, fmt.Errorf("missing \"=\" after keyword %d", len(pairs)+1)
		}
		j := skipSpaces(s, i+eq+1)
		p := keywordPair{key: key, start: j}
		if j < len(s) && s[j] == '\'' {
			k := j + 1
			for ; k < len(s) && s[k] != '\''; k++ {
				if s[k] == '\\' {
					k++
				}
			}
			if k >= len(s) {
				return pairs, j, fmt.Errorf("unterminated quoted value %d", len(pairs)+1)
			}
			p.end = k + 1
			p.value = unescapeKeywordValue(s[j+1 : k])
		} else {
			k := j
			for ; k < len(s) && !strings.ContainsRune(spaces, rune(s[k])); k++ {
				if s[k] == '\\' {
					k++
				}
			}
			p.end = min(k, len(s))
			p.value = unescapeKeywordValue(s[j:p.end])
		}
		pairs = append(pairs, p)
		i = skipSpaces(s, p.end)
	}
	return pairs, len(s), nil
}

func skipSpaces(s string, i int) int {
	for i < len(s) && strings.IndexByte(spaces, s[i]) >= 0 {
		i++
	}
	return i
}

// unescapeKeywordValue drops the \ before each escaped character.
func unescapeKeywordValue(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++
			if i == len(s) {
				break
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// percentDecoded returns s with its %XX escapes decoded, or s itself when
// it has a malformed one.
func percentDecoded(s string) string {
	if d, err := url.PathUnescape(s); err == nil {
		return d
	}
	return s
}

// isLibpqKeyword reports whether key is a connection keyword of libpq: a
// keyword/value string names at least one (pgx sends other keys to the
// server as run-time parameters).
func isLibpqKeyword(key string) bool {
	switch key {
	case "host", "hostaddr", "port", "dbname", "user", "password", "passfile",
		"require_auth", "channel_binding", "connect_timeout", "client_encoding",
		"options", "application_name", "fallback_application_name", "keepalives",
		"keepalives_idle", "keepalives_interval", "keepalives_count",
		"tcp_user_timeout", "replication", "gssencmode", "sslmode", "sslnegotiation",
		"sslcompression", "sslcert", "sslkey", "sslpassword", "sslcertmode",
		"sslrootcert", "sslcrl", "sslcrldir", "sslsni", "requirepeer",
		"ssl_min_protocol_version", "ssl_max_protocol_version", "krbsrvname",
		"gsslib", "gssdelegation", "service", "target_session_attrs",
		"load_balance_hosts":
		return true
	}
	return false
}
