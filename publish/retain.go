package publish

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/bakehq/bake"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// RetainedKey lists the fingerprinted files (css/app.3f2a1c9b.css) that
// builds no longer have and that publishes left in the target: a page a
// browser or CDN cached before the publish still links them. bake prune
// removes each once no release it keeps (nor the live manifest) has it.
const RetainedKey = bake.ReservedDir + "/retained.jsonl"

// retained is one line of RetainedKey.
type retained struct {
	Key    string `json:"key"`
	SHA256 string `json:"sha256"`
}

// retainable reports whether a file a build dropped stays in the target:
// a file that is not a page, with a content hash in its name, whose old
// URL cached pages may still use. A new build cannot want other bytes at
// that name.
func retainable(key string, e bake.Entry) bool {
	switch path.Ext(key) {
	case ".html", ".htm":
		return false // a page, whatever its type says (a listed object may have none)
	}
	return !bake.IsHTML(e.Type) && e.Redirect == "" && fingerprinted.MatchString(path.Base(key))
}

// readRetained returns the list at RetainedKey, nil when there is none.
func readRetained(ctx context.Context, bucket *blob.Bucket) ([]retained, error) {
	data, err := bucket.ReadAll(ctx, RetainedKey)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", RetainedKey, err)
	}
	var out []retained
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var r retained
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil || r.Key == "" {
			// A list cut short by a crash: what it held stays in the
			// target, where a verify finds it.
			break
		}
		out = append(out, r)
	}
	return out, nil
}

// writeRetained stores list at RetainedKey.
func writeRetained(ctx context.Context, bucket *blob.Bucket, list []retained) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for _, r := range list {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	if err := bucket.WriteAll(ctx, RetainedKey, b.Bytes(), &blob.WriterOptions{ContentType: "application/x-ndjson", CacheControl: "no-store"}); err != nil {
		return fmt.Errorf("write %s: %w", RetainedKey, err)
	}
	return nil
}

// mergeRetained returns old with the keys of add, each key once, sorted.
func mergeRetained(old []retained, add []Change) []retained {
	byKey := map[string]retained{}
	for _, r := range old {
		byKey[r.Key] = r
	}
	for _, c := range add {
		byKey[c.Key] = retained{Key: c.Key, SHA256: c.Entry.SHA256}
	}
	out := make([]retained, 0, len(byKey))
	for _, r := range byKey {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b retained) int { return strings.Compare(a.Key, b.Key) })
	return out
}
