package cli

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/bakehq/bake/internal/testenv"
	"github.com/bakehq/bake/publish"
)

// killTarget is where TestKilledPublishConverges publishes, seen from
// outside bake.
type killTarget struct {
	to         string                                           // bake publish --to
	folder     bool                                             // a folder: --verify hashes the bytes, so the test asks it after each kill
	publishing func() bool                                      // whether publish.PublishingKey is there
	objects    func(t *testing.T) (map[string][]byte, []string) // the site's objects as served (key → bytes), and what is wrong beside them
}

// folderTarget is a folder published to through to (a plain path or a
// file:// URL). Its objects are its files outside .bake; wrong beside
// them are *.tmp files, anywhere, and .attrs sidecars that do not
// describe the bytes beside them.
func folderTarget(dir, to string) killTarget {
	return killTarget{
		to:     to,
		folder: true,
		publishing: func() bool {
			_, err := os.Stat(filepath.Join(dir, filepath.FromSlash(publish.PublishingKey)))
			return err == nil
		},
		objects: func(t *testing.T) (map[string][]byte, []string) {
			t.Helper()
			files := map[string][]byte{}
			var sidecars, wrong []string
			err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				rel, _ := filepath.Rel(dir, p)
				rel = filepath.ToSlash(rel)
				switch {
				case strings.HasSuffix(rel, ".tmp"):
					wrong = append(wrong, "temporary file "+rel)
				case strings.HasSuffix(rel, ".attrs"):
					sidecars = append(sidecars, rel)
				case !strings.HasPrefix(rel, ".bake/"):
					b, err := os.ReadFile(p)
					files[rel] = b
					return err
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, rel := range sidecars {
				key := strings.TrimSuffix(rel, ".attrs")
				if strings.HasPrefix(key, ".bake/") {
					continue // bake's records: read through the bucket, which the publish checks
				}
				b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
				if err != nil {
					t.Fatal(err)
				}
				var attrs struct {
					Metadata map[string]string `json:"user.metadata"`
				}
				if err := json.Unmarshal(b, &attrs); err != nil {
					wrong = append(wrong, fmt.Sprintf("sidecar %s: %v: %q", rel, err, b))
					continue
				}
				data, ok := files[key]
				if !ok {
					wrong = append(wrong, "sidecar "+rel+" beside no object")
					continue
				}
				if sum := sha256.Sum256(data); attrs.Metadata["sha256"] != hex.EncodeToString(sum[:]) {
					wrong = append(wrong, fmt.Sprintf("sidecar %s says sha256 %.12s, the bytes are %.12x", rel, attrs.Metadata["sha256"], sum))
				}
			}
			return files, wrong
		},
	}
}

// s3Target is a new bucket of the test S3 server; its objects are read
// with the AWS SDK and decompressed.
func s3Target(t *testing.T) killTarget {
	srv := testenv.S3(t)
	client, bucket := srv.Client(t), srv.Bucket(t)
	q := url.Values{"region": {srv.Region}, "endpoint": {srv.Endpoint}, "use_path_style": {"true"}}
	return killTarget{
		to: "s3://" + bucket + "?" + q.Encode(),
		publishing: func() bool {
			_, err := client.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(publish.PublishingKey)})
			return err == nil
		},
		objects: func(t *testing.T) (map[string][]byte, []string) {
			t.Helper()
			ctx := context.Background()
			var keys []string
			pages := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
			for pages.HasMorePages() {
				page, err := pages.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, o := range page.Contents {
					if k := aws.ToString(o.Key); !strings.HasPrefix(k, ".bake/") {
						keys = append(keys, k)
					}
				}
			}
			files := make([][]byte, len(keys))
			errs := make([]error, len(keys))
			var wg sync.WaitGroup
			work := make(chan int)
			for range 8 {
				wg.Go(func() {
					for i := range work {
						files[i], errs[i] = getObject(ctx, client, bucket, keys[i])
					}
				})
			}
			for i := range keys {
				work <- i
			}
			close(work)
			wg.Wait()
			out := map[string][]byte{}
			for i, k := range keys {
				if errs[i] != nil {
					t.Fatalf("get %s: %v", k, errs[i])
				}
				out[k] = files[i]
			}
			return out, nil
		},
	}
}

// getObject returns the bytes of an object as a browser would see them:
// decompressed by its Content-Encoding.
func getObject(ctx context.Context, client *s3.Client, bucket, key string) ([]byte, error) {
	o, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, err
	}
	defer o.Body.Close()
	var r io.Reader = o.Body
	switch enc := aws.ToString(o.ContentEncoding); enc {
	case "gzip":
		zr, err := gzip.NewReader(o.Body)
		if err != nil {
			return nil, err
		}
		r = zr
	case "br":
		r = brotli.NewReader(o.Body)
	case "":
	default:
		return nil, fmt.Errorf("content encoding %q", enc)
	}
	return io.ReadAll(r)
}

// TestKilledPublishConverges kills bake publish with SIGKILL at random
// moments while it uploads thousands of pages, to a folder (a plain path,
// without sidecars), to a file:// URL (with .attrs sidecars) and to S3;
// after each kill, publish --verify --dry-run must plan every object whose
// bytes differ from the build (folders, where it hashes them), and the
// next publish must make the target hold exactly the build's bytes, with
// no temporary file left. The publishes alternate between two builds of
// the site, a third of the titles and a few rows apart. Under CI it kills
// more publishes (5 a folder, 3 on S3; locally 3 and 2, and 1 each of a
// site half the size with -short), to hit the narrow windows (a sidecar
// written before its object is renamed into place) more often.
func TestKilledPublishConverges(t *testing.T) {
	t.Parallel()
	kills, s3Kills, pages := 3, 2, 6000
	switch {
	case testenv.InCI():
		kills, s3Kills = 5, 3
	case testing.Short():
		kills, s3Kills, pages = 1, 1, 3000
	}
	sites := killSites(t, pages)
	for _, tc := range []struct {
		name   string
		kills  int
		target func(t *testing.T) (killTarget, []string)
	}{
		{"folder", kills, func(t *testing.T) (killTarget, []string) {
			dir := t.TempDir()
			return folderTarget(dir, dir), sites
		}},
		{"file-url", kills, func(t *testing.T) (killTarget, []string) {
			dir := t.TempDir()
			return folderTarget(dir, "file://"+filepath.ToSlash(dir)), sites
		}},
		{"s3", s3Kills, func(t *testing.T) (killTarget, []string) {
			// Fewer pages: every round reads each object back.
			return s3Target(t), killSites(t, 1000)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tgt, sites := tc.target(t)
			testKilledPublish(t, tgt, sites, tc.kills)
		})
	}
}

// killSites builds two site folders of n items (see writeItemsSite), a
// third of the titles and a few rows (one in 500 deleted, 5 added)
// apart, and returns them.
func killSites(t *testing.T, n int) []string {
	t.Helper()
	var sites []string
	for k := range 2 {
		dir := t.TempDir()
		writeItemsSite(t, dir, n, "v0 ")
		seed, err := os.ReadFile(filepath.Join(dir, "seed.sql"))
		if err != nil {
			t.Fatal(err)
		}
		execSQLite(t, filepath.Join(dir, "site.db"), string(seed),
			fmt.Sprintf(`UPDATE items SET title = 'v%d ' || id WHERE id %% 3 = %d`, k, k),
			fmt.Sprintf(`DELETE FROM items WHERE id %% 500 = %d`, k+1),
			fmt.Sprintf(`INSERT INTO items SELECT id + %d, 'new ' || id FROM items WHERE id <= 5`, n+k*10))
		runBake(t, dir, "build", "-q")
		sites = append(sites, dir)
	}
	return sites
}

// testKilledPublish publishes sites in turn to tgt, killing each publish
// once and running it again; see TestKilledPublishConverges.
func testKilledPublish(t *testing.T, tgt killTarget, sites []string, kills int) {
	runBake(t, sites[0], "publish", "--to", tgt.to)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 24))
	window := 300 * time.Millisecond // from the first sign of the publish to the kill, at most; adapts
	var round, killed, differ, wrong int
	// A publish that finishes before its kill does not count: at most 3
	// rounds a kill.
	for round = 1; killed < kills && round <= 3*kills; round++ {
		dir := sites[round%len(sites)]
		delay := time.Duration(rng.Int64N(int64(window)))
		if killPublish(t, dir, tgt, delay) {
			killed++
			window = min(window*11/10, 3*time.Second)
			if tgt.folder {
				d, w := verifySeesDifferences(t, dir, tgt)
				differ, wrong = differ+d, wrong+w
			}
		} else {
			window = max(window/2, 5*time.Millisecond)
		}
		runBake(t, dir, "publish", "--to", tgt.to)
		if !sameObjects(t, filepath.Join(dir, "_site"), tgt) {
			t.Fatalf("round %d: after a publish killed %v in and a publish run again, the target is not the build", round, delay)
		}
	}
	t.Logf("%d rounds, %d publishes killed midway: then %d objects differed from the build, and %d temporary files or sidecars not matching their bytes were left",
		round-1, killed, differ, wrong)
	if killed < kills {
		t.Fatalf("%d of %d publishes killed before they finished: the test did not test what it should", killed, kills)
	}
	if tgt.folder {
		// And a last look by --verify: nothing to do.
		if up := verifyPlan(t, sites[(round-1)%len(sites)], tgt.to); len(up) > 0 {
			t.Fatalf("after the last publish, --verify would upload %d objects: %v", len(up), up[:min(len(up), 5)])
		}
	}
}

// killPublish starts bake publish in the site folder dir and kills it
// delay after the target shows a publish running. It reports whether it
// killed it (false: the publish finished first).
func killPublish(t *testing.T, dir string, tgt killTarget, delay time.Duration) bool {
	t.Helper()
	var out syncBuffer
	cmd := bakeCommand(dir, "publish", "--to", tgt.to)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(2 * time.Minute)
	var kill <-chan time.Time
	var err error
wait:
	for {
		select {
		case err = <-exited:
			break wait
		case <-kill:
			cmd.Process.Signal(syscall.SIGKILL)
			err = <-exited
			break wait
		case <-deadline:
			cmd.Process.Kill()
			<-exited
			t.Fatalf("the publish did not finish in 2 minutes\n%s", out.String())
		case <-time.After(time.Millisecond):
			if kill == nil && tgt.publishing() {
				kill = time.After(delay)
			}
		}
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
		return false
	case errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL:
		return true
	}
	t.Fatalf("the publish failed on its own: %v\n%s", err, out.String())
	return false
}

// verifySeesDifferences checks that bake publish --verify plans an upload
// of every object of the build whose bytes the target does not hold, and
// returns how many there are, and how many things are wrong beside them
// (see folderTarget).
func verifySeesDifferences(t *testing.T, dir string, tgt killTarget) (int, int) {
	t.Helper()
	want := buildObjects(t, filepath.Join(dir, "_site"))
	got, wrong := tgt.objects(t)
	var differ []string
	for k, b := range want {
		if g, ok := got[k]; !ok || !bytes.Equal(g, b) {
			differ = append(differ, k)
		}
	}
	planned := verifyPlan(t, dir, tgt.to)
	for _, k := range differ {
		if !slices.Contains(planned, k) {
			t.Fatalf("after a killed publish, %s differs from the build, but publish --verify plans no upload of it (it plans %d)", k, len(planned))
		}
	}
	return len(differ), len(wrong)
}

// verifyPlan returns the keys bake publish --verify --dry-run would upload.
func verifyPlan(t *testing.T, dir, to string) []string {
	t.Helper()
	var report struct {
		Plan struct {
			Assets, Pages []publish.Change
		}
	}
	if err := json.Unmarshal([]byte(runBake(t, dir, "publish", "--to", to, "--verify", "--dry-run", "--json")), &report); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, c := range append(report.Plan.Assets, report.Plan.Pages...) {
		keys = append(keys, c.Key)
	}
	slices.Sort(keys)
	return keys
}

// buildObjects returns the files of the build folder site, by key.
func buildObjects(t *testing.T, site string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(site, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(site, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == ".bake" {
				return filepath.SkipDir
			}
			return nil
		}
		b, err := os.ReadFile(p)
		files[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// sameObjects reports whether tgt holds exactly the files of the build
// folder site, and nothing wrong beside them, logging the first
// differences when not.
func sameObjects(t *testing.T, site string, tgt killTarget) bool {
	t.Helper()
	want := buildObjects(t, site)
	got, bad := tgt.objects(t)
	for k, b := range want {
		g, ok := got[k]
		switch {
		case !ok:
			bad = append(bad, k+": missing")
		case !bytes.Equal(g, b):
			bad = append(bad, fmt.Sprintf("%s: %.40q, the build has %.40q", k, g, b))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			bad = append(bad, k+": not in the build")
		}
	}
	slices.Sort(bad)
	for _, b := range bad[:min(len(bad), 10)] {
		t.Log(b)
	}
	return len(bad) == 0
}
