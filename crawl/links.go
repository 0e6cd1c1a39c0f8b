package crawl

import (
	"bufio"
	"bytes"
	"html"
	"regexp"
	"strings"
)

// Links are found by a small scanner over the bytes, not a parser: what a
// crawl needs from a page is its URLs, and a tag soup that a parser would
// fix up still has them in the same attributes. (Regular expressions did
// the same at half the speed of the whole crawl.)

// linkTags are the tags whose link attributes are followed.
var linkTags = map[string]bool{"a": true, "link": true, "script": true, "img": true, "source": true,
	"iframe": true, "area": true, "video": true, "audio": true, "track": true, "embed": true}

// linkAttrs are the attributes that hold links.
var linkAttrs = map[string]bool{"href": true, "src": true, "srcset": true, "poster": true}

// htmlLinks returns the URLs a page links to, as written (entities
// decoded): a, link, script, img, source and the like, every candidate of
// a srcset, and CSS url() in style attributes and blocks.
func htmlLinks(body []byte) []string {
	var out []string
	for i := 0; i < len(body); {
		j := bytes.IndexByte(body[i:], '<')
		if j < 0 {
			break
		}
		i += j + 1
		k := i
		for k < len(body) && isAlnum(body[k]) {
			k++
		}
		if k == i || !linkTags[strings.ToLower(string(body[i:k]))] {
			continue
		}
		end := tagEnd(body[k:])
		if end < 0 {
			break
		}
		out = attrLinks(out, body[k:k+end])
		i = k + end + 1
	}
	return append(out, cssLinks(body)...)
}

// attrLinks appends the links of the attributes of one tag (the text
// between its name and its >).
func attrLinks(out []string, tag []byte) []string {
	i := 0
	for i < len(tag) {
		for i < len(tag) && (isSpace(tag[i]) || tag[i] == '/') {
			i++
		}
		n := i
		for i < len(tag) && !isSpace(tag[i]) && tag[i] != '=' && tag[i] != '/' {
			i++
		}
		name := tag[n:i]
		for i < len(tag) && isSpace(tag[i]) {
			i++
		}
		if i >= len(tag) || tag[i] != '=' {
			if len(name) == 0 {
				i++
			}
			continue
		}
		i++
		for i < len(tag) && isSpace(tag[i]) {
			i++
		}
		var val []byte
		if i < len(tag) && (tag[i] == '"' || tag[i] == '\'') {
			q := tag[i]
			e := bytes.IndexByte(tag[i+1:], q)
			if e < 0 {
				e = len(tag) - i - 1
			}
			val = tag[i+1 : i+1+e]
			i += e + 2
		} else {
			v := i
			for i < len(tag) && !isSpace(tag[i]) {
				i++
			}
			val = tag[v:i]
		}
		lname := strings.ToLower(string(name))
		if !linkAttrs[lname] {
			continue
		}
		v := html.UnescapeString(string(val))
		if lname == "srcset" {
			out = append(out, srcset(v)...)
		} else {
			out = append(out, v)
		}
	}
	return out
}

// tagEnd returns the index of the > that closes a tag, skipping those in
// quoted attribute values; -1 when there is none.
func tagEnd(b []byte) int {
	var quote byte
	for i, c := range b {
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			if i > 0 && (b[i-1] == '=' || isSpace(b[i-1])) {
				quote = c
			}
		case c == '>':
			return i
		}
	}
	return -1
}

func isAlnum(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\f' }

// srcset returns the URLs of a srcset attribute: "a.png 1x, b.png 2x".
func srcset(v string) []string {
	var out []string
	for cand := range strings.SplitSeq(v, ",") {
		if f := strings.Fields(cand); len(f) > 0 {
			out = append(out, f[0])
		}
	}
	return out
}

// cssLinks returns the URLs of url() and @import "..." in CSS, also
// inside style attributes and <style> blocks.
func cssLinks(body []byte) []string {
	var out []string
	for _, pre := range []string{"url(", "URL(", "@import"} {
		for i := 0; ; {
			j := bytes.Index(body[i:], []byte(pre))
			if j < 0 {
				break
			}
			i += j + len(pre)
			rest := bytes.TrimLeft(body[i:], " \t\n\r")
			var u []byte
			switch {
			case len(rest) > 0 && (rest[0] == '"' || rest[0] == '\''):
				if e := bytes.IndexByte(rest[1:], rest[0]); e >= 0 {
					u = rest[1 : 1+e]
				}
			case pre != "@import":
				if e := bytes.IndexByte(rest, ')'); e >= 0 {
					u = bytes.TrimSpace(rest[:e])
				}
			}
			if len(u) > 0 && !bytes.HasPrefix(u, []byte("data:")) {
				out = append(out, html.UnescapeString(string(u)))
			}
		}
	}
	return out
}

var (
	// locRE matches the URLs of sitemaps (<loc>), Atom (<link href>) and
	// RSS (<link>URL</link>) feeds.
	locRE      = regexp.MustCompile(`(?is)<loc>\s*([^<]*?)\s*</loc>|<link>\s*([^<]*?)\s*</link>`)
	atomLinkRE = regexp.MustCompile(`(?is)<(?:atom:)?link\b[^>]*\shref\s*=\s*(?:"([^"]*)"|'([^']*)')`)
)

// xmlLinks returns the URLs of a sitemap, sitemap index or feed.
func xmlLinks(body []byte) []string {
	var out []string
	for _, m := range locRE.FindAllSubmatch(body, -1) {
		out = append(out, html.UnescapeString(string(first(m[1], m[2]))))
	}
	for _, m := range atomLinkRE.FindAllSubmatch(body, -1) {
		out = append(out, html.UnescapeString(string(first(m[1], m[2]))))
	}
	return out
}

// robots is what a crawl reads of robots.txt: the sitemaps it names and
// the paths the group for every user agent disallows.
type robots struct {
	sitemaps []string
	disallow []string
}

// parseRobots reads robots.txt. Only the "User-agent: *" group's Disallow
// lines count (bake crawls as no particular robot); an empty Disallow
// allows everything.
func parseRobots(body []byte) robots {
	var r robots
	star, inAgents := false, false
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		k, v = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v)
		switch k {
		case "user-agent":
			if !inAgents {
				star = false
			}
			inAgents = true
			if v == "*" {
				star = true
			}
		case "disallow":
			inAgents = false
			if star && v != "" {
				r.disallow = append(r.disallow, v)
			}
		case "sitemap":
			r.sitemaps = append(r.sitemaps, v)
		default:
			inAgents = false
		}
	}
	return r
}

// allowed reports whether robots.txt lets a crawler fetch path.
func (r robots) allowed(path string) bool {
	for _, d := range r.disallow {
		if strings.HasPrefix(path, d) {
			return false
		}
	}
	return true
}

// first returns the first non-empty of bs.
func first(bs ...[]byte) []byte {
	for _, b := range bs {
		if len(b) > 0 {
			return b
		}
	}
	return nil
}
