// Command seedgen rebuilds the seed corpora of the fuzz targets,
// fuzz/testdata/fuzz/<Target>/seed-*, from the golden vectors in testdata/.
// It replaces the seed files and leaves every other file alone, such as the
// failures the fuzzer writes. Run it from anywhere in the module:
//
//	go generate ./fuzz
package main

import (
	"bytes"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/mqttwire/mqttwire/fuzz/internal/corpus"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("seedgen: ")
	root, err := moduleRoot()
	if err != nil {
		log.Fatal(err)
	}
	vs, err := corpus.ReadVectors(root)
	if err != nil {
		log.Fatal(err)
	}
	files, err := corpus.Seeds(vs)
	if err != nil {
		log.Fatal(err)
	}
	written, removed, err := write(filepath.Join(root, "fuzz", "testdata", "fuzz"), files)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("seedgen: %d vectors, %d seed files (%d written, %d removed)\n", len(vs), len(files), written, removed)
}

// moduleRoot returns the closest directory at or above the working directory
// whose go.mod declares the mqttwire module.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(mod, []byte("module github.com/mqttwire/mqttwire\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the github.com/mqttwire/mqttwire module")
		}
		dir = parent
	}
}

// write writes the files under dir, skipping those already up to date, and
// removes the seed files that are no longer generated.
func write(dir string, files []corpus.File) (written, removed int, err error) {
	want := map[string]bool{}
	for _, f := range files {
		path := filepath.Join(dir, f.Target, f.Name)
		want[path] = true
		if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, f.Data) {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return written, removed, err
		}
		if err := os.WriteFile(path, f.Data, 0o644); err != nil {
			return written, removed, err
		}
		written++
	}
	stale, err := filepath.Glob(filepath.Join(dir, "*", corpus.SeedPrefix+"*"))
	if err != nil {
		return written, removed, err
	}
	for _, path := range stale {
		if !want[path] && strings.HasPrefix(filepath.Base(path), corpus.SeedPrefix) {
			if err := os.Remove(path); err != nil {
				return written, removed, err
			}
			removed++
		}
	}
	return written, removed, nil
}
