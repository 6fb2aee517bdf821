// Package corpus builds the seed corpora of the fuzz targets from the golden
// wire vectors in the module's testdata directory, and holds the mapping
// between FuzzAppend's arguments and packets that both the generator and the
// target use.
package corpus

import (
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/mqttwire/mqttwire"
)

// Vector is one golden wire vector, testdata/<packet>/<case>.hex.
type Vector struct {
	Name    string // "publish/qos1-payload"
	Wire    []byte
	Expect  string // "ok", "malformed", "unsupported-version", "incomplete" or "too-large"
	Version mqttwire.Version
	MaxSize int
}

// Dir returns the packet directory of the vector, such as "publish".
func (v Vector) Dir() string {
	dir, _, _ := strings.Cut(v.Name, "/")
	return dir
}

// ReadVectors parses every testdata/*/*.hex file under root, sorted by name.
// A line holds hex bytes and an optional "# comment"; a line that starts with
// "#" is a comment, and "# expect:", "# version:" and "# max-size:" lines are
// directives.
func ReadVectors(root string) ([]Vector, error) {
	paths, err := filepath.Glob(filepath.Join(root, "testdata", "*", "*.hex"))
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	var vs []Vector
	for _, path := range paths {
		v, err := readVector(path)
		if err != nil {
			return nil, err
		}
		vs = append(vs, v)
	}
	if len(vs) == 0 {
		return nil, fmt.Errorf("no vectors under %s", filepath.Join(root, "testdata"))
	}
	return vs, nil
}

func readVector(path string) (Vector, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return Vector{}, err
	}
	dir := filepath.Base(filepath.Dir(path))
	v := Vector{Name: dir + "/" + strings.TrimSuffix(filepath.Base(path), ".hex")}
	var digits strings.Builder
	for i, line := range strings.Split(string(text), "\n") {
		if strings.HasPrefix(line, "#") {
			key, value, ok := strings.Cut(strings.TrimSpace(line[1:]), ":")
			if !ok {
				continue
			}
			value = strings.TrimSpace(value)
			switch key {
			case "expect":
				v.Expect, _, _ = strings.Cut(value, " ")
			case "version":
				n, err := strconv.ParseUint(value, 10, 8)
				if err != nil {
					return v, fmt.Errorf("%s:%d: version: %v", path, i+1, err)
				}
				v.Version = mqttwire.Version(n)
			case "max-size":
				if v.MaxSize, err = strconv.Atoi(value); err != nil {
					return v, fmt.Errorf("%s:%d: max-size: %v", path, i+1, err)
				}
			}
			continue
		}
		data, _, _ := strings.Cut(line, "#")
		digits.WriteString(strings.Join(strings.Fields(data), ""))
	}
	if v.Wire, err = hex.DecodeString(digits.String()); err != nil {
		return v, fmt.Errorf("%s: %v", path, err)
	}
	if v.Expect == "" {
		return v, fmt.Errorf("%s: no '# expect:' line", path)
	}
	return v, nil
}
