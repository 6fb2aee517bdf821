package fuzz

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/mqttwire/mqttwire"
)

// packetOptions compares packets: an empty slice equals nil. Byte slices are
// compared with bytes.Equal, since cmp's element-by-element walk takes a
// large part of a second for a 64 KiB string.
var packetOptions = cmp.Options{
	cmp.FilterValues(func(x, y []byte) bool { return len(x) > 0 || len(y) > 0 }, cmp.Comparer(bytes.Equal)),
	cmpopts.EquateEmpty(),
}

// knownIssues holds the names of checks whose failures are known and already
// reported, from the comma-separated MQTTWIRE_FUZZ_KNOWN. A long fuzzing run
// may set it to look past a known bug: such a failure then skips the input
// instead of stopping the run. Normal test runs leave it empty, so that every
// check fails.
var knownIssues = strings.Split(os.Getenv("MQTTWIRE_FUZZ_KNOWN"), ",")

// failf reports a broken property, named by check, and stops the input.
func failf(t *testing.T, check, format string, args ...any) {
	t.Helper()
	if check != "" && slices.Contains(knownIssues, check) {
		t.Skipf("known issue %s: "+format, append([]any{check}, args...)...)
	}
	t.Fatalf("%s: "+format, append([]any{check}, args...)...)
}

// decoderVersion maps a fuzzed byte to a Decoder.Version: 3 and 4 are V31
// and V311, anything else is 0, the 3.1.1 rules.
func decoderVersion(b byte) mqttwire.Version {
	switch v := mqttwire.Version(b); v {
	case mqttwire.V31, mqttwire.V311:
		return v
	}
	return 0
}

// decodeKind returns the sentinel a decoding error belongs to, or nil if it
// belongs to none of those a decoder may return.
func decodeKind(err error) error {
	if err == mqttwire.ErrIncomplete {
		return err
	}
	for _, kind := range []error{mqttwire.ErrMalformed, mqttwire.ErrUnsupportedVersion, mqttwire.ErrTooLarge} {
		if errors.Is(err, kind) {
			return kind
		}
	}
	return nil
}

// Errors of the fixed header, taken from inputs that produce them, so that
// the targets can compare error values without the package's internals.
var (
	errReservedType = peekErr(0x00, 0x00)

	// A bad remaining length names the type of the first byte, so there is
	// one error for each type nibble.
	errLengthLong, errLengthPadded [16]error
)

func init() {
	for t := range 16 {
		errLengthLong[t] = peekErr(byte(t)<<4, 0x80, 0x80, 0x80, 0x80)
		errLengthPadded[t] = peekErr(byte(t)<<4, 0x80, 0x00)
	}
}

func peekErr(b ...byte) error {
	_, _, err := mqttwire.Peek(b)
	if err == nil || err == mqttwire.ErrIncomplete {
		panic(fmt.Sprintf("fuzz: no fixed-header error from % X", b))
	}
	return err
}

// newPacket returns a zero packet of type t, or nil for a reserved type.
func newPacket(t mqttwire.Type) mqttwire.Packet {
	switch t {
	case mqttwire.TypeConnect:
		return &mqttwire.Connect{}
	case mqttwire.TypeConnack:
		return &mqttwire.Connack{}
	case mqttwire.TypePublish:
		return &mqttwire.Publish{}
	case mqttwire.TypePuback:
		return &mqttwire.Puback{}
	case mqttwire.TypePubrec:
		return &mqttwire.Pubrec{}
	case mqttwire.TypePubrel:
		return &mqttwire.Pubrel{}
	case mqttwire.TypePubcomp:
		return &mqttwire.Pubcomp{}
	case mqttwire.TypeSubscribe:
		return &mqttwire.Subscribe{}
	case mqttwire.TypeSuback:
		return &mqttwire.Suback{}
	case mqttwire.TypeUnsubscribe:
		return &mqttwire.Unsubscribe{}
	case mqttwire.TypeUnsuback:
		return &mqttwire.Unsuback{}
	case mqttwire.TypePingreq:
		return &mqttwire.Pingreq{}
	case mqttwire.TypePingresp:
		return &mqttwire.Pingresp{}
	case mqttwire.TypeDisconnect:
		return &mqttwire.Disconnect{}
	}
	return nil
}

// clonePacket returns a deep copy of p that shares no memory with the
// decoded input or the Decoder.
func clonePacket(p mqttwire.Packet) mqttwire.Packet {
	switch p := p.(type) {
	case *mqttwire.Connect:
		c := *p
		c.ClientID = bytes.Clone(p.ClientID)
		c.WillTopic = bytes.Clone(p.WillTopic)
		c.WillMessage = bytes.Clone(p.WillMessage)
		c.Username = bytes.Clone(p.Username)
		c.Password = bytes.Clone(p.Password)
		return &c
	case *mqttwire.Connack:
		c := *p
		return &c
	case *mqttwire.Publish:
		c := *p
		c.Topic = bytes.Clone(p.Topic)
		c.Payload = bytes.Clone(p.Payload)
		return &c
	case *mqttwire.Puback:
		c := *p
		return &c
	case *mqttwire.Pubrec:
		c := *p
		return &c
	case *mqttwire.Pubrel:
		c := *p
		return &c
	case *mqttwire.Pubcomp:
		c := *p
		return &c
	case *mqttwire.Subscribe:
		c := *p
		c.Filters = make([]mqttwire.TopicFilter, len(p.Filters))
		for i, f := range p.Filters {
			c.Filters[i] = mqttwire.TopicFilter{Topic: bytes.Clone(f.Topic), QoS: f.QoS}
		}
		return &c
	case *mqttwire.Suback:
		c := *p
		c.ReturnCodes = bytes.Clone(p.ReturnCodes)
		return &c
	case *mqttwire.Unsubscribe:
		c := *p
		c.Topics = make([][]byte, len(p.Topics))
		for i, topic := range p.Topics {
			c.Topics[i] = bytes.Clone(topic)
		}
		return &c
	case *mqttwire.Unsuback:
		c := *p
		return &c
	case *mqttwire.Pingreq:
		return &mqttwire.Pingreq{}
	case *mqttwire.Pingresp:
		return &mqttwire.Pingresp{}
	case *mqttwire.Disconnect:
		return &mqttwire.Disconnect{}
	}
	panic("fuzz: clonePacket: unknown packet type")
}

// errTransient is the error a chunkReader injects: a failed read that may be
// retried, such as a deadline that passed.
var errTransient = errors.New("fuzz: transient read error")

// chunkReader is an io.Reader that returns data in reads of the sizes in
// chunks, used in turn (all at once when chunks is empty). A size of 0 is a
// read that returns nothing and no error, as io.Reader allows. With
// transient, a size of 0xF0 to 0xFF returns its low nibble of bytes with
// errTransient; without, it is a plain size. After two reads in a row that
// bring no bytes, a read brings at least one, so that the consumer never
// gives up with io.ErrNoProgress. With eofWithData the last bytes come with
// io.EOF, otherwise io.EOF comes alone on the next read.
type chunkReader struct {
	data        []byte
	chunks      []byte
	eofWithData bool
	transient   bool
	next        int // index of the next size in chunks
	empty       int // reads in a row that brought no bytes
	injected    int // errTransient returned so far
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n, err := len(r.data), error(nil)
	if len(r.chunks) > 0 {
		n = int(r.chunks[r.next%len(r.chunks)])
		r.next++
	}
	if r.transient && n >= 0xF0 {
		n, err = n&0x0F, errTransient
	}
	if n == 0 {
		if r.empty < 2 {
			r.empty++
			if err != nil {
				r.injected++
			}
			return 0, err
		}
		n, err = 1, nil
	}
	r.empty = 0
	n = copy(p, r.data[:min(n, len(r.data))])
	r.data = r.data[n:]
	switch {
	case err != nil:
		r.injected++
		return n, err
	case len(r.data) == 0 && r.eofWithData:
		return n, io.EOF
	}
	return n, nil
}
