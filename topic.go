package mqttwire

// Topic names and topic filters (§4.7). A topic name is what a PUBLISH is
// sent to; a topic filter, in SUBSCRIBE and UNSUBSCRIBE, may hold the
// wildcards '+' (one whole level) and '#' (every remaining level). Comparison
// is byte for byte, with no normalisation [MQTT-4.7.3-4].

var (
	errTopicName   = textErrors(ErrInvalid, 0, "topic name")
	errTopicFilter = textErrors(ErrInvalid, 0, "topic filter")
)

// ValidateTopicName reports whether name may be the topic of a PUBLISH: one to
// 65,535 bytes of well-formed UTF-8, no U+0000, and no wildcard. The error
// wraps ErrInvalid and names the rule. It does no allocation.
func ValidateTopicName(name []byte) error {
	if p := checkEncodedText(name, kindName); p != textOK {
		return errTopicName[p]
	}
	return nil
}

// ValidateTopicFilter reports whether filter may stand in a SUBSCRIBE or
// UNSUBSCRIBE: one to 65,535 bytes of well-formed UTF-8, no U+0000, '#' only
// as the whole last level, and '+' only as a whole level. The error wraps
// ErrInvalid and names the rule. It does no allocation.
func ValidateTopicFilter(filter []byte) error {
	if p := checkEncodedText(filter, kindFilter); p != textOK {
		return errTopicFilter[p]
	}
	return nil
}

// MatchTopic reports whether the topic filter matches the topic name. '+'
// matches exactly one level, which may be empty; '#' matches the level it
// stands in and every level below, so "a/#" matches "a" too. A filter whose
// first level is a wildcard never matches a name that starts with '$'
// [MQTT-4.7.2-1]. MatchTopic returns false unless both are valid. It does no
// allocation.
func MatchTopic(filter, name []byte) bool {
	if checkTopicFilter(filter) != textOK || checkTopicName(name) != textOK ||
		len(filter) > 65535 || len(name) > 65535 {
		return false
	}
	return matchValid(filter, name)
}

// matchValid is MatchTopic for a filter and a name already known to be valid.
func matchValid(filter, name []byte) bool {
	if name[0] == '$' && (filter[0] == '+' || filter[0] == '#') {
		return false // [MQTT-4.7.2-1]
	}
	f, n := 0, 0
	for {
		// f and n stand at the start of a level.
		if f < len(filter) && filter[f] == '#' {
			return true
		}
		if f < len(filter) && filter[f] == '+' {
			f++
			for n < len(name) && name[n] != '/' {
				n++
			}
		} else {
			for f < len(filter) && filter[f] != '/' {
				if n == len(name) || name[n] != filter[f] {
					return false
				}
				f++
				n++
			}
			if n < len(name) && name[n] != '/' {
				return false
			}
		}
		// Both stand at a '/' or at the end.
		switch {
		case f == len(filter) && n == len(name):
			return true
		case n == len(name):
			// The name has ended: only "/#" may be left of the filter.
			return len(filter)-f == 2 && filter[f+1] == '#'
		case f == len(filter):
			return false
		}
		f++
		n++
	}
}
