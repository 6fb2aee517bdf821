package corpus

import (
	"bytes"
	"fmt"
)

// File is one seed corpus file: testdata/fuzz/<Target>/<Name> below fuzz/.
type File struct {
	Target string // "FuzzDecode"
	Name   string // "seed-publish-qos1-payload"
	Data   []byte // the file's contents
}

// SeedPrefix starts the name of every generated seed file, so that the
// generator can tell its files from the failures the fuzzer writes.
const SeedPrefix = "seed-"

// Marshal encodes the arguments of one fuzz call in the corpus file format of
// go test ("go test fuzz v1", then one Go expression a line), as the fuzzer
// itself writes it. It accepts the types the targets take.
func Marshal(args ...any) []byte {
	var b bytes.Buffer
	b.WriteString("go test fuzz v1\n")
	for _, a := range args {
		switch a := a.(type) {
		case []byte:
			fmt.Fprintf(&b, "[]byte(%q)\n", a)
		case byte:
			fmt.Fprintf(&b, "byte(%q)\n", a)
		case uint16, bool:
			fmt.Fprintf(&b, "%T(%v)\n", a, a)
		default:
			panic(fmt.Sprintf("corpus: unsupported argument type %T", a))
		}
	}
	return b.Bytes()
}
