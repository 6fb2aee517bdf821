package mqttwire

import (
	"errors"
	"math/bits"
)

// Design note: the allocator is a bitmap of all 65,536 identifiers, held in
// the struct itself: 8 KiB, no pointers, so its zero value is ready to use and
// nothing it does ever allocates. Next searches from just after the last
// identifier handed out, a 64-bit word at a time, so identifiers go round in
// order as the specification's examples do and a freed one is not handed out
// again at once.

// ErrNoPacketIDs is returned by PacketIDs.Next when all 65,535 identifiers are
// in use.
var ErrNoPacketIDs = errors.New("mqttwire: all 65,535 packet identifiers are in use")

// PacketIDs hands out packet identifiers for one session and one direction:
// each is non-zero and not in use by another exchange [MQTT-2.3.1-2], and the
// sequence wraps around after 65,535. An identifier is in use from Next (or
// Use) until Free. The zero value is ready to use; it is 8 KiB and does no
// allocation. It is not safe for concurrent use.
type PacketIDs struct {
	used  [1024]uint64 // bit id%64 of word id/64 is set while id is in use; id 0 never is
	last  uint16       // the identifier most recently handed out
	count int          // identifiers in use
}

// Next returns an identifier that is not in use and marks it in use. It
// searches upwards from the last identifier handed out and wraps around; when
// all 65,535 are in use it returns ErrNoPacketIDs.
func (a *PacketIDs) Next() (uint16, error) {
	if a.count == 65535 {
		return 0, ErrNoPacketIDs
	}
	start := int(a.last) + 1 // the first candidate; 65536 wraps to 0, which is skipped
	for i := 0; i <= len(a.used); i++ {
		word := (start>>6 + i) % len(a.used)
		free := ^a.used[word]
		if word == 0 {
			free &^= 1 // 0 is never an identifier
		}
		if i == 0 {
			free &= ^uint64(0) << (start & 63) // only candidates at or after start
		}
		if free != 0 {
			id := uint16(word<<6 + bits.TrailingZeros64(free))
			a.used[word] |= 1 << (id & 63)
			a.last = id
			a.count++
			return id, nil
		}
	}
	return 0, ErrNoPacketIDs // unreachable while count is right
}

// Use marks id in use, for an exchange restored from elsewhere (a session
// store, say). It reports false if id is 0 or already in use.
func (a *PacketIDs) Use(id uint16) bool {
	if id == 0 || a.InUse(id) {
		return false
	}
	a.used[id>>6] |= 1 << (id & 63)
	a.count++
	return true
}

// Free ends the exchange of id, so Next may hand it out again. Freeing an
// identifier that is not in use does nothing.
func (a *PacketIDs) Free(id uint16) {
	if a.InUse(id) {
		a.used[id>>6] &^= 1 << (id & 63)
		a.count--
	}
}

// InUse reports whether id is in use.
func (a *PacketIDs) InUse(id uint16) bool { return a.used[id>>6]&(1<<(id&63)) != 0 }

// Len returns the number of identifiers in use.
func (a *PacketIDs) Len() int { return a.count }
