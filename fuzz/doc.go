// Package fuzz holds the native Go fuzz targets of mqttwire. They use only
// the exported API, so they test what users get:
//
//   - FuzzDecode: Decoder.Decode and the packets' own Decode methods on any
//     bytes, with the round trip through Append.
//   - FuzzReader: Reader on any bytes in reads of any sizes, against one
//     Decoder on the whole input, and ScanPackets against Peek.
//   - FuzzPeek: Peek, Decoder and ScanPackets agree on frames.
//   - FuzzTopic: topic name and filter validation and matching.
//   - FuzzAppend: Append on packets built from fuzzed fields.
//
// The seed corpora under testdata/fuzz are built from the golden vectors in
// the module's testdata directory; go generate rebuilds them. See README.md.
package fuzz

//go:generate go run ./internal/seedgen
