package benchsite

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

func TestScratchTiming(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("SCRATCH_N"))
	if n == 0 {
		t.Skip()
	}
	dir := "/tmp/bs"
	p := filepath.Join(dir, "bench.db")
	os.Remove(p)
	os.Remove(p + "-wal")
	os.Remove(p + "-shm")
	db, err := sql.Open("sqlite", p)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	start := time.Now()
	if err := Populate(context.Background(), db, "sqlite", Options{Items: n}); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d rows: %v", n, time.Since(start))
}
