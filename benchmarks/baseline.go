package benchmarks

// The two limit baselines. Neither is a codec: they bound what any decoder
// or encoder of the same bytes can cost.
//
// memmove copies the bytes and nothing else: the cost of touching every byte
// once, as a decoder that copies its input, or an encoder that writes it,
// must at least pay.
//
// framescan reads each fixed header (type byte and remaining length) and
// skips the body: the cost of delimiting the packets, which every streaming
// decoder pays before it looks at a field. Its encoding counterpart writes
// each fixed header and copies the body.

// Memmove copies src into dst, which must be at least as long.
func Memmove(dst, src []byte) int { return copy(dst, src) }

// FrameScan walks the packets in b by their fixed headers alone and returns
// how many whole packets it found and the sum of their first bytes, so the
// work cannot be optimised away. It stops at the first frame that is cut
// short or whose length is longer than four bytes.
func FrameScan(b []byte) (count, sum int) {
	for i := 0; i < len(b); {
		first := b[i]
		remaining, shift, j := 0, 0, i+1
		for {
			if j >= len(b) || shift > 21 {
				return count, sum
			}
			c := b[j]
			j++
			remaining |= int(c&0x7f) << shift
			if c < 0x80 {
				break
			}
			shift += 7
		}
		i = j + remaining
		if i > len(b) {
			return count, sum
		}
		count++
		sum += int(first)
	}
	return count, sum
}

// Frame is one packet of a frame-writing baseline: the fixed header's first
// byte and the body, kept apart.
type Frame struct {
	First byte
	Body  []byte
}

// SplitFrames cuts b, whole packets back to back, into Frames whose bodies
// alias b.
func SplitFrames(b []byte) []Frame {
	var fs []Frame
	for i := 0; i < len(b); {
		first := b[i]
		remaining, shift, j := 0, 0, i+1
		for {
			c := b[j]
			j++
			remaining |= int(c&0x7f) << shift
			if c < 0x80 {
				break
			}
			shift += 7
		}
		fs = append(fs, Frame{First: first, Body: b[j : j+remaining]})
		i = j + remaining
	}
	return fs
}

// AppendFrames appends each frame's fixed header, with the shortest
// remaining-length encoding, and its body to dst.
func AppendFrames(dst []byte, fs []Frame) []byte {
	for i := range fs {
		f := &fs[i]
		dst = append(dst, f.First)
		v := len(f.Body)
		for v >= 0x80 {
			dst = append(dst, byte(v)|0x80)
			v >>= 7
		}
		dst = append(dst, byte(v))
		dst = append(dst, f.Body...)
	}
	return dst
}
