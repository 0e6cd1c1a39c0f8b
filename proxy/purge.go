package proxy

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
)

// servePurge answers POST [PurgePath]: form values path (repeated) and
// prefix name what to purge, as [Purge] takes them. The client must send
// the token as "Authorization: Bearer TOKEN" and come over TLS or from a
// loopback address. The answer is JSON: {"purged": [paths]}.
func (p *Proxy) servePurge(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if r.TLS == nil && !loopback(r.RemoteAddr) {
		http.Error(w, "purge is refused without TLS, except from a loopback address", http.StatusForbidden)
		return
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	// Compare digests: equal lengths, so the time says nothing of the token.
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(p.token))
	if !ok || subtle.ConstantTimeCompare(a[:], b[:]) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="bake purge"`)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad request: "+err.Error(), http.StatusBadRequest)
		return
	}
	paths, prefix := r.PostForm["path"], r.PostForm.Get("prefix")
	if len(paths) == 0 && prefix == "" {
		http.Error(w, "bad request: name pages with path=/p/ (repeated) or prefix=/posts/", http.StatusBadRequest)
		return
	}
	purged, err := p.purge(r.Context(), paths, prefix)
	if err != nil {
		code := http.StatusInternalServerError
		if errors.Is(err, ErrBadPath) {
			code = http.StatusBadRequest
		} else {
			p.log.Error("purge", "err", err)
		}
		http.Error(w, err.Error(), code)
		return
	}
	if purged == nil {
		purged = []string{}
	}
	p.log.Info("purged", "pages", len(purged))
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string][]string{"purged": purged})
}

// loopback reports whether a remote address is a loopback one.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Purge removes pages p saved, as the function [Purge] does on p's build
// folder, one save or purge at a time: a program that runs the middleware
// calls it when its data changes (after a write, from a signal), with the
// paths of the pages that show that data.
func (p *Proxy) Purge(ctx context.Context, paths []string, prefix string) ([]string, error) {
	return p.purge(ctx, paths, prefix)
}
