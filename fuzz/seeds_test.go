package fuzz

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mqttwire/mqttwire/fuzz/internal/corpus"
)

// TestSeedsUpToDate checks that the seed corpora under testdata/fuzz are
// those the golden vectors give: run go generate ./fuzz after changing a
// vector.
func TestSeedsUpToDate(t *testing.T) {
	vs, err := corpus.ReadVectors("..")
	if err != nil {
		t.Fatal(err)
	}
	files, err := corpus.Seeds(vs)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, f := range files {
		path := filepath.Join("testdata", "fuzz", f.Target, f.Name)
		want[path] = true
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, f.Data) {
			t.Errorf("%s is missing or out of date: run go generate ./fuzz", path)
		}
	}
	seeds, err := filepath.Glob(filepath.Join("testdata", "fuzz", "*", corpus.SeedPrefix+"*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range seeds {
		if !want[path] && strings.HasPrefix(filepath.Base(path), corpus.SeedPrefix) {
			t.Errorf("%s is no longer generated: run go generate ./fuzz", path)
		}
	}
}
